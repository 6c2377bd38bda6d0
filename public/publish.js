// bucketcast publish page: sends the camera and microphone (or the screen) to
// the server's WHIP endpoint, POST /<app>/whip/<streamId>, and ends the session
// with DELETE on the returned Location.
//
// URL parameters: app, id (stream id), source=camera|screen, codec=h264|vp8|vp9
// (restricts the offer to that video codec), width, height (camera size),
// video=0 or audio=0 (publish the other track only).
// The page's state is mirrored on <body> data attributes (state, connectedAt,
// stoppedAt, location, error) for scripts driving the page.
// @ts-check
(function () {
  'use strict';

  var params = new URLSearchParams(location.search);
  /**
   * An element of the page, of the type it must be.
   * @template {HTMLElement} T
   * @param {string} id
   * @param {new () => T} type
   * @returns {T}
   */
  var $ = function (id, type) {
    var el = document.getElementById(id);
    if (!(el instanceof type)) throw new Error('publish page: no #' + id);
    return el;
  };
  var ui = {
    app: $('app', HTMLInputElement), streamId: $('streamId', HTMLInputElement), token: $('token', HTMLInputElement),
    start: $('start', HTMLButtonElement), stop: $('stop', HTMLButtonElement),
    state: $('state', HTMLElement), message: $('message', HTMLElement), elapsed: $('elapsed', HTMLElement),
    endpoint: $('endpoint', HTMLElement), preview: $('preview', HTMLVideoElement),
  };
  /** @type {RTCPeerConnection | null} */
  var pc = null;
  /** @type {MediaStream | null} */
  var media = null;
  /** @type {string | null} */
  var resource = null;
  /** @type {string | null} */
  var authHeader = null;
  var connectedAt = 0;
  /** @type {ReturnType<typeof setInterval> | null} */
  var ticker = null;

  ui.app.value = params.get('app') || ui.app.value;
  ui.streamId.value = params.get('id') || ui.streamId.value;
  if (params.get('source') === 'screen') $('source-screen', HTMLInputElement).checked = true;
  ui.app.addEventListener('input', showEndpoint);
  ui.streamId.addEventListener('input', showEndpoint);
  ui.start.addEventListener('click', function () { start().catch(fail); });
  ui.stop.addEventListener('click', function () { stop().catch(fail); });
  // Leaving the page ends the session at once instead of after the server's silence timeout.
  window.addEventListener('pagehide', function () {
    if (resource) fetch(resource, { method: 'DELETE', headers: headers(), keepalive: true }).catch(function () {});
  });
  showEndpoint();

  function endpointUrl() {
    return new URL('/' + encodeURIComponent(ui.app.value.trim()) + '/whip/' + encodeURIComponent(ui.streamId.value.trim()), location.href).href;
  }

  function showEndpoint() {
    ui.endpoint.textContent = endpointUrl();
  }

  /**
   * @param {Record<string, string>} [extra]
   * @returns {Record<string, string>}
   */
  function headers(extra) {
    var h = extra || {};
    if (authHeader) h.Authorization = authHeader;
    return h;
  }

  /**
   * @param {string} state
   * @param {string} [text]
   */
  function setState(state, text) {
    ui.state.dataset.state = state;
    ui.state.textContent = text || state;
    document.body.dataset.state = state;
  }

  /**
   * @param {string} text
   * @param {boolean} [isError]
   */
  function say(text, isError) {
    ui.message.textContent = text;
    ui.message.className = isError ? 'error' : '';
    if (isError) document.body.dataset.error = text;
  }

  /** @param {unknown} err */
  function fail(err) {
    say(err instanceof Error ? err.message : String(err), true);
    setState('failed');
    teardown();
  }

  async function capture() {
    var source = $('source-screen', HTMLInputElement).checked ? 'screen' : 'camera';
    if (source === 'screen') {
      return navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 30 }, audio: true });
    }
    var width = Number(params.get('width')) || 1280;
    var height = Number(params.get('height')) || 720;
    return navigator.mediaDevices.getUserMedia({
      video: params.get('video') === '0' ? false : { width: { ideal: width }, height: { ideal: height }, frameRate: { ideal: 30 } },
      audio: params.get('audio') !== '0',
    });
  }

  async function start() {
    if (!ui.streamId.value.trim()) throw new Error('enter a stream id');
    ui.start.disabled = true;
    delete document.body.dataset.error;
    delete document.body.dataset.connectedAt;
    delete document.body.dataset.stoppedAt;
    say('');
    var token = ui.token.value.trim();
    authHeader = token ? 'Bearer ' + token : null;
    setState('negotiating', 'starting');
    media = await capture();
    ui.preview.srcObject = media;
    var peer = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    var stream = media;
    pc = peer;
    var codec = (params.get('codec') || '').toLowerCase();
    stream.getTracks().forEach(function (track) {
      var t = peer.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
      if (track.kind !== 'video') return;
      if (codec) {
        var caps = (RTCRtpSender.getCapabilities('video')?.codecs || []).filter(function (c) {
          return c.mimeType.toLowerCase() === 'video/' + codec;
        });
        if (!caps.length) throw new Error('this browser cannot send ' + codec);
        t.setCodecPreferences(caps);
      }
    });
    peer.addEventListener('connectionstatechange', onConnectionState);
    await peer.setLocalDescription(await peer.createOffer());
    await gathered(peer, 3000);
    var url = endpointUrl();
    var offer = peer.localDescription;
    if (!offer) throw new Error('the browser made no offer');
    var res = await fetch(url, { method: 'POST', headers: headers({ 'Content-Type': 'application/sdp' }), body: offer.sdp });
    if (res.status !== 201) throw new Error('server refused (' + res.status + '): ' + (await errorText(res)));
    var answerLocation = res.headers.get('Location');
    if (!answerLocation) throw new Error('the server answered 201 without a Location');
    resource = new URL(answerLocation, url).href;
    document.body.dataset.location = resource;
    await peer.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    peer.getSenders().forEach(function (s) {
      if (!s.track || s.track.kind !== 'video') return;
      // A recording keeps its size; the encoder lowers the frame rate instead when short of CPU.
      var p = s.getParameters();
      p.degradationPreference = 'maintain-resolution';
      s.setParameters(p).catch(function () {});
    });
    setState('connecting');
    ui.stop.disabled = false;
  }

  function onConnectionState() {
    if (!pc) return;
    var s = pc.connectionState;
    if (s === 'connected') {
      if (!connectedAt) {
        connectedAt = Date.now();
        document.body.dataset.connectedAt = String(connectedAt);
        ticker = setInterval(showElapsed, 500);
      }
      setState('connected', 'live');
      say('publishing to ' + endpointUrl());
    } else if (s === 'failed') {
      fail(new Error('connection to the server failed'));
    } else if (s === 'disconnected') {
      setState('connecting', 'reconnecting');
    }
  }

  function showElapsed() {
    var s = Math.floor((Date.now() - connectedAt) / 1000);
    ui.elapsed.textContent = Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
  }

  async function stop() {
    document.body.dataset.stoppedAt = String(Date.now());
    ui.stop.disabled = true;
    var url = resource;
    resource = null;
    if (url) {
      var res = await fetch(url, { method: 'DELETE', headers: headers() }).catch(function () { return null; });
      if (res && !res.ok && res.status !== 404) say('server answered ' + res.status + ' to stop: ' + (await errorText(res)), true);
    }
    teardown();
    setState('stopped');
  }

  function teardown() {
    if (ticker) clearInterval(ticker);
    ticker = null;
    connectedAt = 0;
    if (pc) pc.close();
    pc = null;
    if (media) media.getTracks().forEach(function (t) { t.stop(); });
    media = null;
    ui.preview.srcObject = null;
    ui.start.disabled = false;
    ui.stop.disabled = true;
  }

  /**
   * @param {RTCPeerConnection} peer
   * @param {number} timeoutMs
   * @returns {Promise<void>}
   */
  function gathered(peer, timeoutMs) {
    if (peer.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise(function (resolve) {
      var timer = setTimeout(resolve, timeoutMs);
      peer.addEventListener('icegatheringstatechange', function () {
        if (peer.iceGatheringState === 'complete') {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }

  /** @param {Response} res */
  async function errorText(res) {
    var text = await res.text().catch(function () { return ''; });
    try {
      var j = JSON.parse(text);
      if (j && j.error && j.error.message) return j.error.message;
    } catch (e) {
      // not JSON
    }
    return text || res.statusText;
  }
})();
