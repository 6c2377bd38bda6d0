// @ts-check
/**
 * Viewing tokens of private applications (`playback.access: "signed"`), so the
 * operator sees what the panel shows: live thumbnails, recording posters,
 * downloads and file links of a private app need `?token=`. The panel mints
 * one token per private app (`POST /applications/<app>/playback-tokens`,
 * 15 minutes, or the app's `maxTokenLifetimeSeconds` when shorter) and mints
 * the next one at half-life while the app's media is still on screen, so a
 * link or image drawn from the cache always has at least half a lifetime left.
 * Public apps' URLs are left as they are. Tokens are forgotten on logout.
 * (The player page, opened by Play, mints its own: see public/play.js.)
 *
 * - `viewUrl(app, url)`: resolves with the URL signed for viewing (waits for
 *   the first token of an app);
 * - `signNow(app, url)`: the same from the cache, synchronously (links drawn in
 *   place); `keepSigned(a, app, url)` re-signs a link whenever it is about to
 *   be used (pointer, focus, keyboard), so it never carries an expired token.
 *
 * State for tests: `document.body.dataset.viewingTokens` counts minted tokens.
 */
import { api, seg } from './api.js';

const LIFETIME_S = 15 * 60;
/** How long the list of apps (and which are private) is trusted before it is read again. */
const APPS_TTL_MS = 30_000;
/** A token is not handed out for the last seconds of its life. */
const MARGIN_MS = 5_000;

/** @typedef {{ private: boolean, maxLifetime: number }} AppInfo */
/** @typedef {{ token: string | null, expiresAt: number, renewAt: number, minting: Promise<string | null> | null, timer: ReturnType<typeof setTimeout> | undefined, usedSinceMint: boolean }} Held */

/** @type {Map<string, AppInfo> | null} */
let apps = null;
let appsAt = 0;
/** @type {Promise<Map<string, AppInfo> | null> | null} */
let appsLoading = null;
/** @type {Map<string, Held>} */
const tokens = new Map();
let generation = 0;
let minted = 0;

async function loadApps() {
  if (apps && Date.now() - appsAt < APPS_TTL_MS) return apps;
  if (!appsLoading) {
    appsLoading = (async () => {
      try {
        const { applications } = /** @type {{ applications: import('../../types.js').Application[] }} */ (await api.get('/applications'));
        /** @type {Map<string, AppInfo>} */
        const next = new Map();
        for (const a of applications) {
          /** @type {Partial<import('../../types.js').PublicAppSettings['playback']>} */
          const p = (a.settings && a.settings.playback) || {};
          next.set(a.name, { private: p.access === 'signed', maxLifetime: Number(p.maxTokenLifetimeSeconds) || LIFETIME_S });
        }
        apps = next;
        appsAt = Date.now();
      } finally {
        appsLoading = null;
      }
      return apps;
    })();
  }
  return appsLoading;
}

/**
 * Mints a token for `app` (one request at a time per app) and schedules its renewal at half-life.
 * @param {string} app
 * @param {AppInfo} info
 * @returns {Promise<string | null>}
 */
function mint(app, info) {
  let held = tokens.get(app);
  if (!held) tokens.set(app, (held = { token: null, expiresAt: 0, renewAt: 0, minting: null, timer: undefined, usedSinceMint: true }));
  const t = held;
  if (t.minting) return t.minting;
  const gen = generation;
  const lifetime = Math.max(60, Math.min(LIFETIME_S, info.maxLifetime));
  t.minting = (async () => {
    try {
      const r = /** @type {import('../../types.js').PlaybackToken} */ (await api.post(`/applications/${seg(app)}/playback-tokens`, { expiresInSeconds: lifetime }));
      if (gen !== generation) return null; // logged out meanwhile
      const now = Date.now();
      const expiresAt = Date.parse(r.expiresAt) || now + lifetime * 1000;
      Object.assign(t, { token: r.token, expiresAt, renewAt: now + (expiresAt - now) / 2, usedSinceMint: false });
      minted += 1;
      document.body.dataset.viewingTokens = String(minted);
      clearTimeout(t.timer);
      // Renewed at half-life only while something still uses it; otherwise the next use mints afresh.
      t.timer = setTimeout(() => {
        if (t.usedSinceMint) mint(app, info).catch(() => undefined);
      }, Math.max(1000, t.renewAt - now));
      return t.token;
    } finally {
      t.minting = null;
    }
  })();
  return t.minting;
}

/** @param {Held | undefined} t */
function fresh(t) {
  return t && t.token && t.expiresAt - Date.now() > MARGIN_MS ? t.token : null;
}

/**
 * @param {string} url
 * @param {string} token
 */
function append(url, token) {
  return `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
}

/**
 * The token to view `app`'s media with: null for a public (or unknown) app.
 * @param {string} app
 * @returns {Promise<string | null>}
 */
export async function viewingToken(app) {
  const list = await loadApps().catch(() => apps);
  const info = list && list.get(app);
  if (!info || !info.private) return null;
  const t = tokens.get(app);
  if (t) t.usedSinceMint = true;
  const have = fresh(t);
  if (have && t && Date.now() < t.renewAt) return have;
  if (have) {
    mint(app, info).catch(() => undefined); // past half-life: the next one is on its way, this one still has half its life
    return have;
  }
  return mint(app, info);
}

/**
 * `url` signed for viewing `app`'s media (unchanged for public apps, or when no token could be had).
 * @template {string | null | undefined} U
 * @param {string} app
 * @param {U} url
 * @returns {Promise<U | string>}
 */
export async function viewUrl(app, url) {
  if (!url) return url;
  const token = await viewingToken(app).catch(() => null);
  return token ? append(url, token) : url;
}

/**
 * Synchronous `viewUrl` from what is cached (starts minting when nothing is).
 * @param {string} app
 * @param {string} url
 */
export function signNow(app, url) {
  if (!url) return url;
  const info = apps && apps.get(app);
  if (apps && (!info || !info.private)) return url;
  const t = tokens.get(app);
  if (t) t.usedSinceMint = true;
  const have = fresh(t);
  if (!have || !t || Date.now() >= t.renewAt) viewingToken(app).catch(() => undefined);
  return have ? append(url, have) : url;
}

/**
 * Keeps link `a` pointing at `url` signed for `app`: set now (from the cache,
 * then again once a token is there) and refreshed just before each use.
 */
/**
 * @param {HTMLAnchorElement} a
 * @param {string} app
 * @param {string | null | undefined} url
 */
export function keepSigned(a, app, url) {
  a.dataset.viewUrl = url || '';
  a.dataset.viewApp = app;
  if (!url) return;
  a.href = signNow(app, url);
  viewUrl(app, url).then((signed) => {
    if (a.dataset.viewUrl === url) a.href = signed;
  });
  if (a.dataset.viewSigned) return;
  a.dataset.viewSigned = 'yes';
  const resign = () => {
    if (a.dataset.viewUrl) a.href = signNow(a.dataset.viewApp || app, a.dataset.viewUrl);
  };
  for (const type of ['pointerdown', 'focus', 'mouseenter', 'keydown']) a.addEventListener(type, resign);
}

/** Forgets every token and what was known of the apps (logout, session ended). */
export function forgetViewingTokens() {
  generation += 1;
  for (const t of tokens.values()) clearTimeout(t.timer);
  tokens.clear();
  apps = null;
  appsAt = 0;
}
