/*
 * bucketcast player.
 *   play.html?app=live&id=<streamId>   the live stream (HLS), waiting while it is offline
 *   play.html?app=live&name=<file>     a recording: <name>.mp4 (video element) or <name>.m3u8 (hls.js);
 *                                      without an extension, .mp4 then .m3u8 is tried
 * Media URLs are the server's stable ones (/<app>/streams/…, /<app>/previews/…); the
 * server serves them from disk or forwards them to the bucket.
 *   &token=<viewing token>             for an app with playback.access "signed"; the server
 *                                      carries it into playlists. Without one, a page opened
 *                                      by a logged-in admin (the panel's Play) mints its own
 *                                      (the server's default lifetime: at most an hour, never
 *                                      past the app's maximum) and mints the next one at
 *                                      half-life; hls.js requests to this server are sent with
 *                                      the newest token, so a live stream plays on past the
 *                                      first token's expiry.
 *
 * State for people and tests: <body data-state="loading|offline|not-found|playing|error">,
 * and on the <video>: data-engine (video|hls.js|native), data-source, data-poster,
 * data-errors (error events + fatal hls.js errors), data-played (seconds actually played).
 */
// @ts-check
(function () {
  'use strict';

  var FILE = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}$/;
  var APP = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
  var POSTER_FORMATS = ['jpg', 'png', 'webp'];
  var RETRY_MS = 3000;

  var params = new URLSearchParams(location.search);
  var app = params.get('app') || 'live';
  var id = params.get('id');
  var name = params.get('name');
  var token = params.get('token');
  var minted = false;
  var mintedExpiresAt = 0;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  var renewTimer;
  var video = /** @type {HTMLVideoElement} */ (document.getElementById('video'));
  var message = /** @type {HTMLElement} */ (document.getElementById('message'));
  var title = /** @type {HTMLElement} */ (document.getElementById('title'));

  /** @type {import('hls.js').default | null} */
  var hls = null;
  var live = false;
  /** The stream id of a live page. */
  var liveId = '';
  var errors = 0;
  var played = 0;
  /** @type {number | null} */
  var lastTime = null;
  var mediaRecoveries = 0;

  /**
   * @param {'loading' | 'offline' | 'not-found' | 'playing' | 'error'} state
   * @param {string} [text]
   */
  function setState(state, text) {
    document.body.dataset.state = state;
    message.textContent = text || '';
    message.hidden = !text;
  }

  /** @param {number} ms */
  function sleep(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  /**
   * @param {'streams' | 'previews'} folder
   * @param {string} file
   */
  function mediaUrl(folder, file) {
    // Relative, so the page also works behind a reverse proxy that adds a path prefix.
    var url = encodeURIComponent(app) + '/' + folder + '/' + encodeURIComponent(file);
    return token ? url + '?token=' + encodeURIComponent(token) : url;
  }

  /**
   * A private app refused us (403 from this server): an admin logged in to the
   * panel may mint a viewing token (session cookie + CSRF token); resolves
   * whether a token was obtained. Tried once per page, and again only once the
   * token the page minted has expired (`renew`: the half-life renewal).
   * @param {boolean} [renew]
   * @returns {Promise<boolean>}
   */
  function mintToken(renew) {
    if (minted && !renew && Date.now() < mintedExpiresAt) return Promise.resolve(false);
    minted = true;
    return fetch('api/v1/auth/me', { credentials: 'same-origin', cache: 'no-store' }).then(function (r) {
      if (!r.ok) return false;
      return r.json().then(function (/** @type {import('./types.js').Me} */ me) {
        return fetch('api/v1/applications/' + encodeURIComponent(app) + '/playback-tokens', {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrfToken || '' },
          // No lifetime asked for: the server's default is at most an hour and never past the app's maximum.
          body: '{}',
        });
      }).then(function (r2) {
        if (!r2.ok) return false;
        return r2.json().then(function (/** @type {import('./types.js').PlaybackToken} */ t) {
          token = t.token;
          var now = Date.now();
          mintedExpiresAt = Date.parse(t.expiresAt) || now;
          video.dataset.tokens = String(Number(video.dataset.tokens || 0) + 1);
          clearTimeout(renewTimer);
          renewTimer = setTimeout(function () { mintToken(true); }, Math.max(1000, (mintedExpiresAt - now) / 2));
          return true;
        });
      });
    }, function () { return false; });
  }

  /**
   * A URL of this server with the page's newest viewing token in place of the one it was built with.
   * @param {string} url
   */
  function withCurrentToken(url) {
    if (!token) return url;
    try {
      var u = new URL(url, location.href);
      if (u.origin !== location.origin || !u.searchParams.has('token')) return url;
      u.searchParams.set('token', token);
      return u.href;
    } catch (e) {
      return url;
    }
  }

  /**
   * After a refusal: mint a token and run `again`, or say the app is private.
   * @param {() => unknown} again
   */
  function privateApp(again) {
    return mintToken().then(function (ok) {
      if (ok) return again();
      setState('error', 'This application is private: open the link with its viewing token (?token=…).');
    });
  }

  function countError() {
    errors += 1;
    video.dataset.errors = String(errors);
  }

  video.dataset.errors = '0';
  video.dataset.played = '0';
  video.addEventListener('timeupdate', function () {
    var t = video.currentTime;
    // Only steady progress counts as played (not seeks or the jump to the live edge).
    if (lastTime !== null && t > lastTime && t - lastTime < 1.5) played += t - lastTime;
    lastTime = t;
    video.dataset.played = played.toFixed(2);
  });
  video.addEventListener('seeking', function () { lastTime = null; });
  video.addEventListener('playing', function () { setState('playing', ''); });
  video.addEventListener('error', function () {
    countError();
    if (hls) return; // hls.js reports its own errors
    var code = video.error ? video.error.code : 0;
    setState('error', code === 4
      ? 'The recording could not be played: it is missing, not a playable file, or its bucket does not allow this page (CORS).'
      : 'Playback failed (media error ' + code + ').');
  });
  video.addEventListener('ended', function () {
    if (live) backToWaiting();
  });

  /**
   * HEAD request: 'ok', 'missing', 'redirect' (manual mode), 'error' with a status, or 'unknown' (network/CORS).
   * @param {string} url
   * @param {RequestRedirect} [redirect]
   * @returns {Promise<{ result: 'ok' | 'missing' | 'redirect' | 'forbidden' | 'unknown' } | { result: 'error', status: number }>}
   */
  function probe(url, redirect) {
    return fetch(url, { method: 'HEAD', cache: 'no-store', redirect: redirect || 'follow' }).then(function (r) {
      if (r.type === 'opaqueredirect') return { result: 'redirect' };
      if (r.ok) return { result: 'ok' };
      // 403 from this server itself (not from a bucket after a redirect): a private app wants a viewing token.
      if (r.status === 403 && !r.redirected) return { result: 'forbidden' };
      // A bucket without list permission answers 403 for a missing key.
      if (r.status === 404 || r.status === 403 || r.status === 410) return { result: 'missing' };
      return { result: 'error', status: r.status };
    }, function () {
      // A cross-origin bucket that does not allow this page: existence cannot be told from here.
      return { result: 'unknown' };
    });
  }

  /**
   * Tries <stem>.jpg, .png, .webp (the app's preview format is not known here); the first that loads is the poster.
   * @param {string} stem
   */
  function findPoster(stem) {
    var i = 0;
    function next() {
      if (i >= POSTER_FORMATS.length) return;
      var url = mediaUrl('previews', stem + '.' + POSTER_FORMATS[i++]);
      var img = new Image();
      img.onload = function () {
        video.poster = url;
        video.dataset.poster = url;
      };
      img.onerror = next;
      img.src = url;
    }
    next();
  }

  function teardown() {
    if (hls) {
      hls.destroy();
      hls = null;
    }
    video.removeAttribute('src');
    video.load();
    lastTime = null;
  }

  /** @param {string} text */
  function fatal(text) {
    countError();
    teardown();
    if (live) backToWaiting();
    else setState('error', text);
  }

  /** @param {string} url */
  function playHls(url) {
    const Hls = window.Hls;
    if (Hls !== undefined && Hls.isSupported()) {
      video.dataset.engine = 'hls.js';
      // Playlists and segments of this server go out with the newest token (renewed at half-life), not the first one.
      var player = new Hls({ xhrSetup: function (xhr, u) { xhr.open('GET', withCurrentToken(u), true); } });
      hls = player;
      player.on(Hls.Events.ERROR, function (_event, data) {
        if (!data.fatal) return;
        if (data.type === Hls.ErrorTypes.MEDIA_ERROR && mediaRecoveries < 1) {
          mediaRecoveries += 1;
          player.recoverMediaError();
          return;
        }
        fatal('The recording could not be loaded (' + data.details + '): it is missing, or its bucket does not allow this page (CORS).');
      });
      player.loadSource(url);
      player.attachMedia(video);
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      video.dataset.engine = 'native';
      video.src = url;
    } else {
      setState('error', 'This browser cannot play HLS.');
      return;
    }
    video.play().catch(function () { /* autoplay refused: the controls are there */ });
  }

  /**
   * @param {string} file
   * @param {string} url
   */
  function start(file, url) {
    setState('loading', live ? 'Connecting to the live stream…' : 'Loading…');
    video.dataset.source = url;
    if (/\.m3u8$/i.test(file)) {
      playHls(url);
    } else {
      video.dataset.engine = 'video';
      video.src = url;
      video.play().catch(function () { /* autoplay refused: the controls are there */ });
    }
  }

  /** @param {string} name */
  function playRecording(name) {
    title.textContent = app + ' / ' + name;
    var stem = name.replace(/\.(mp4|m3u8)$/i, '');
    findPoster(stem);
    var candidates = /\.(mp4|m3u8)$/i.test(name) ? [name] : [name + '.mp4', name + '.m3u8'];
    /** @type {string | null} */
    var unknown = null;
    /** @type {number | null} */
    var failed = null;
    var i = 0;
    /** @returns {unknown} */
    function next() {
      if (i >= candidates.length) {
        if (unknown) return start(unknown, mediaUrl('streams', unknown));
        if (failed) return setState('error', 'The recording could not be loaded: the server answered ' + failed + '.');
        return setState('not-found', 'Recording "' + name + '" does not exist.');
      }
      var file = candidates[i++];
      var url = mediaUrl('streams', file);
      return probe(url).then(function (p) {
        if (p.result === 'ok') return start(file, url);
        if (p.result === 'forbidden') return privateApp(function () { playRecording(name); });
        if (p.result === 'unknown' && !unknown) unknown = file;
        if (p.result === 'error' && !failed) failed = p.status;
        return next();
      });
    }
    next();
  }

  function backToWaiting() {
    teardown();
    waitForLive();
  }

  function waitForLive() {
    var id = liveId;
    var url = mediaUrl('streams', id + '.m3u8');
    // A live playlist is always on this server; manual redirects keep the check from reaching into the bucket.
    probe(url, 'manual').then(function (p) {
      if (p.result === 'ok') return start(id + '.m3u8', url);
      if (p.result === 'forbidden') return privateApp(function () { findPoster(id); waitForLive(); });
      setState('offline', 'Stream "' + id + '" is offline. Waiting for it to start…');
      return sleep(RETRY_MS).then(waitForLive);
    });
  }

  if (!APP.test(app)) {
    setState('error', 'Invalid application name.');
  } else if (id && FILE.test(id)) {
    live = true;
    liveId = id;
    title.textContent = app + ' / ' + id + ' (live)';
    findPoster(id);
    waitForLive();
  } else if (name && FILE.test(name)) {
    playRecording(name);
  } else if (id || name) {
    setState('error', 'Invalid stream id or file name.');
  } else {
    setState('error', 'Add ?app=<app>&id=<streamId> for a live stream, or ?app=<app>&name=<file> for a recording.');
  }
})();
