// @ts-check
/**
 * The panel's entry point: checks the session (`GET /auth/me`), shows the
 * login view or the routed view, and keeps the events channel open while
 * logged in. Routes live in the URL hash (`#/apps/live/storage`), so a view
 * can be bookmarked and reloaded.
 *
 * State for people and tests: `<body data-session="in|out" data-view="…">`.
 * Each view module exports `render(main, params, query)` and may return a
 * cleanup function, called when the user leaves the view.
 */
import { api, ApiError, messageOf, onSessionEnded, request, setCsrfToken } from './api.js';
import { connect, disconnect } from './events.js';
import { fill, h, toast } from './dom.js';
import { session } from './session.js';
import { forgetViewingTokens } from './viewing.js';
import * as login from './views/login.js';
import * as streams from './views/streams.js';
import * as recordings from './views/recordings.js';
import * as apps from './views/apps.js';
import * as appSettings from './views/app-settings.js';
import * as credentials from './views/credentials.js';
import * as account from './views/account.js';

/** @typedef {import('../../types.js').Me} Me */
/** @typedef {import('../../types.js').ServerFacts} ServerFacts */
/**
 * A view: draws itself into `main`, and may return what to do when the user leaves it.
 * @typedef {{ render(main: HTMLElement, params: Record<string, string | undefined>, query: URLSearchParams): (() => void) | void | undefined }} View
 */

/**
 * An element of the panel's page.
 * @param {string} id
 */
function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`panel: no #${id}`);
  return el;
}

const main = byId('main');
/** @type {Array<{ pattern: RegExp, view: View, nav: string, keys?: string[] }>} */
const ROUTES = [
  { pattern: /^\/streams$/, view: streams, nav: 'streams' },
  { pattern: /^\/recordings$/, view: recordings, nav: 'recordings' },
  { pattern: /^\/apps$/, view: apps, nav: 'apps' },
  { pattern: /^\/apps\/([^/]+)(?:\/([a-z-]+))?$/, view: appSettings, nav: 'apps', keys: ['app', 'tab'] },
  { pattern: /^\/credentials$/, view: credentials, nav: 'credentials' },
  { pattern: /^\/account$/, view: account, nav: 'account' },
];
const DEFAULT_ROUTE = '#/streams';
/** @type {(() => void) | null} */
let cleanup = null;

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '';
  const [path, qs] = raw.split('?');
  return { path: path || '/', query: new URLSearchParams(qs || '') };
}

function leaveView() {
  if (cleanup) {
    try {
      cleanup();
    } catch {
      // A view that fails to clean up must not block the next one.
    }
  }
  cleanup = null;
}

function route() {
  if (session.state !== 'in') return;
  const { path, query } = parseHash();
  const r = ROUTES.find((x) => x.pattern.test(path));
  if (!r) {
    location.replace(DEFAULT_ROUTE);
    return;
  }
  const m = /** @type {RegExpExecArray} */ (r.pattern.exec(path));
  const params = Object.fromEntries((r.keys || []).map((k, i) => [k, m[i + 1] ? decodeURIComponent(m[i + 1]) : undefined]));
  leaveView();
  document.body.dataset.view = r.nav === 'apps' && params.app ? 'app-settings' : r.nav;
  for (const a of document.querySelectorAll('#nav a')) {
    if (!(a instanceof HTMLElement)) continue;
    if (a.dataset.nav === r.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  fill(main);
  cleanup = r.view.render(main, params, query) || null;
  // Moves focus to the new view's heading, as a page load would, for screen readers and keyboards.
  const heading = main.querySelector('h1');
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: true });
  }
}

/** @param {boolean} visible */
function showSessionTools(visible) {
  byId('nav').hidden = !visible;
  byId('session-tools').hidden = !visible;
}

/**
 * Logged in: remember the CSRF token, open the events channel, show the routed view.
 * @param {Me} me
 */
function enter(me) {
  setCsrfToken(me.csrfToken);
  session.state = 'in';
  session.user = me.user;
  document.body.dataset.session = 'in';
  showSessionTools(true);
  connect(() => leave('Your session ended. Log in again to continue.'));
  loadServerInfo();
  // A generated password must be changed before anything else answers: straight to Account.
  if (me.mustChangePassword) {
    toast('Change the generated admin password to continue.', 'error');
    if (location.hash === '#/account') route();
    else location.replace('#/account');
    return;
  }
  // A new hash routes through `hashchange`; the same one is routed here.
  if (!location.hash || location.hash === '#/login') location.replace(DEFAULT_ROUTE);
  else route();
}

/**
 * Logged out (or the session ended): the login view, with an optional reason.
 * @param {string} [reason]
 */
function leave(reason) {
  if (session.state === 'out') return;
  session.state = 'out';
  setCsrfToken(null);
  forgetViewingTokens();
  disconnect();
  leaveView();
  document.body.dataset.session = 'out';
  document.body.dataset.view = 'login';
  showSessionTools(false);
  fill(main);
  login.render(main, { reason, onLoggedIn: enter });
}

async function loadServerInfo() {
  try {
    const s = /** @type {ServerFacts} */ (await api.get('/server'));
    session.server = s;
    fill(byId('foot'), `bucketcast ${s.version} · RTMP port ${s.rtmpPort}`);
    // Conditions the operator should fix (e.g. open publishing on a public address), shown until they are.
    const box = byId('warnings');
    const list = Array.isArray(s.warnings) ? s.warnings : [];
    fill(box, ...list.map((w) => Object.assign(document.createElement('p'), { textContent: `⚠ ${w.message}` })));
    box.hidden = list.length === 0;
  } catch {
    // Only the footer needs it; views that need the RTMP port ask the API themselves.
  }
}

onSessionEnded(() => leave('Your session ended. Log in again to continue.'));
window.addEventListener('hashchange', route);
const logoutButton = /** @type {HTMLButtonElement} */ (byId('logout'));
logoutButton.addEventListener('click', async () => {
  logoutButton.disabled = true;
  try {
    await api.post('/auth/logout');
    leave('You are logged out.');
  } catch (err) {
    if (!(err instanceof ApiError && err.sessionEnded)) toast(`Logging out failed: ${messageOf(err)}`, 'error');
  } finally {
    logoutButton.disabled = false;
  }
});

(async function boot() {
  try {
    const me = /** @type {Me | null} */ (
      await request('GET', '/auth/me', { quiet401: true }).catch((err) => {
        if (err instanceof ApiError && err.status === 401) return null;
        throw err;
      })
    );
    if (me) enter(me);
    else leave();
  } catch (err) {
    fill(main, h('div', { class: 'error-box', role: 'alert' }, `The panel cannot start: ${messageOf(err)}`));
  }
})();
