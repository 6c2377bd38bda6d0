// @ts-check
/**
 * The live events channel (`/api/v1/events`, a WebSocket authenticated by the
 * session cookie). Views subscribe with `on(type, fn)`; `'*'` gets every
 * message, `'reconnected'` fires after a gap so views can reload what they
 * may have missed.
 *
 * When the socket closes, it reconnects with exponential backoff (1 s up to
 * 30 s, with jitter) and shows the state in the header indicator
 * (`#conn[data-state]`: connecting, connected, reconnecting, offline).
 * Close code 4401 means the session ended: no reconnect, the login view.
 * A connection refused at the handshake looks like any network failure to a
 * browser, so each failed attempt asks `GET /auth/me` whether the session is
 * still valid.
 */
import { ApiError, request } from './api.js';

const MIN_DELAY_MS = 1000;
const MAX_DELAY_MS = 30_000;
const SESSION_ENDED = 4401;

/** @typedef {(data: any, type: string, at: string | undefined) => void} Listener */

/** @type {Map<string, Set<Listener>>} */
const listeners = new Map();
/** @type {WebSocket | null} */
let ws = null;
let wanted = false;
let attempt = 0;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let retryTimer;
/** @type {ReturnType<typeof setInterval> | undefined} */
let countdownTimer;
let everConnected = false;
let sessionEnded = () => {};

/**
 * Subscribes to a message type; returns the unsubscribe function. `data` is
 * the event's payload (see `BusEvents` in src/events/types.ts).
 * @param {string} type
 * @param {Listener} fn
 * @returns {() => void}
 */
export function on(type, fn) {
  let set = listeners.get(type);
  if (!set) listeners.set(type, (set = new Set()));
  set.add(fn);
  return () => void listeners.get(type)?.delete(fn);
}

/**
 * @param {string} type
 * @param {unknown} data
 * @param {string} [at]
 */
function emit(type, data, at) {
  for (const fn of [...(listeners.get(type) || []), ...(type === 'hello' ? [] : listeners.get('*') || [])]) {
    try {
      fn(data, type, at);
    } catch (err) {
      // One view's broken handler must not stop the others from updating.
      setTimeout(() => {
        throw err;
      });
    }
  }
}

/**
 * @param {'connecting' | 'connected' | 'reconnecting' | 'offline'} state
 * @param {string} text
 */
function indicate(state, text) {
  const el = document.getElementById('conn');
  if (!el) return;
  el.dataset.state = state;
  const label = document.getElementById('conn-text');
  if (label) label.textContent = text;
}

/**
 * Opens the channel (after login).
 * @param {() => void} onSessionEnded
 */
export function connect(onSessionEnded) {
  sessionEnded = onSessionEnded;
  wanted = true;
  attempt = 0;
  everConnected = false;
  open();
}

/** Closes the channel (logout, session ended). */
export function disconnect() {
  wanted = false;
  clearTimeout(retryTimer);
  clearInterval(countdownTimer);
  if (ws) {
    const s = ws;
    ws = null;
    s.close(1000, 'logout');
  }
  indicate('offline', 'Not connected');
}

function open() {
  clearInterval(countdownTimer);
  indicate(attempt === 0 ? 'connecting' : 'reconnecting', attempt === 0 ? 'Connecting…' : 'Reconnecting…');
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/events`;
  const socket = new WebSocket(url);
  ws = socket;
  socket.addEventListener('message', (ev) => {
    /** @type {{ type: string, data?: unknown, at?: string }} */
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch {
      return;
    }
    if (msg.type === 'hello') {
      const gap = everConnected;
      everConnected = true;
      attempt = 0;
      indicate('connected', 'Live');
      if (gap) emit('reconnected', {});
    }
    emit(msg.type, msg.data, msg.at);
  });
  socket.addEventListener('close', (ev) => {
    if (ws !== socket) return;
    ws = null;
    if (!wanted) return;
    if (ev.code === SESSION_ENDED) {
      wanted = false;
      indicate('offline', 'Session ended');
      sessionEnded();
      return;
    }
    scheduleRetry();
  });
}

async function scheduleRetry() {
  // A refused handshake (401) is only a close to the browser: ask whether the session still holds.
  try {
    await request('GET', '/auth/me', { quiet401: true });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      wanted = false;
      indicate('offline', 'Session ended');
      sessionEnded();
      return;
    }
  }
  if (!wanted) return;
  const base = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** attempt);
  const delay = Math.round(base * (0.75 + Math.random() * 0.5));
  attempt += 1;
  const until = Date.now() + delay;
  const tick = () => indicate('reconnecting', `Reconnecting in ${Math.max(1, Math.ceil((until - Date.now()) / 1000))} s`);
  tick();
  countdownTimer = setInterval(tick, 1000);
  retryTimer = setTimeout(() => {
    if (wanted) open();
  }, delay);
}
