// @ts-check
/**
 * The admin API client (`/api/v1`, same origin, session cookie). Every
 * state-changing request carries the CSRF token from the login answer or
 * `GET /auth/me`. Errors become `ApiError` with the server's code, message,
 * field `details` and `Retry-After`. A 401 on any call but login and the
 * start-up `me` means the session ended: the handler set with
 * `onSessionEnded` takes the user to the login view.
 */

/** @typedef {import('../../types.js').FieldProblem} FieldProblem */

const BASE = '/api/v1';
/** @type {string | null} */
let csrfToken = null;
/** @type {(err: ApiError) => void} */
let sessionEndedHandler = () => {};

/** An answer other than 2xx, or no answer at all (`status` 0). */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   * @param {FieldProblem[]} [details]
   * @param {number} [retryAfterSeconds]
   */
  constructor(status, code, message, details, retryAfterSeconds) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || [];
    this.retryAfterSeconds = retryAfterSeconds;
    /** True when this 401 ended the session (the login view is shown). */
    this.sessionEnded = false;
  }
}

/** Friendlier words for codes whose server message is terse; otherwise the server's own message. */
/** @type {Record<string, string>} */
const PLAIN = {
  network: 'The server cannot be reached. Is bucketcast running?',
  invalid_credentials: 'Wrong user name or password.',
  csrf_failed: 'The page is out of date: reload it and try again.',
  shutting_down: 'The server is shutting down; try again in a moment.',
};

/**
 * One sentence for people, from any error.
 * @param {unknown} err
 */
export function messageOf(err) {
  if (!err) return 'Something went wrong.';
  if (err instanceof ApiError) {
    const text = PLAIN[err.code] || err.message || `The server answered ${err.status}.`;
    return text.charAt(0).toUpperCase() + text.slice(1);
  }
  return (err instanceof Error && err.message) || String(err);
}

/**
 * Remembers the CSRF token of the current session (null when logged out).
 * @param {string | null | undefined} token
 */
export function setCsrfToken(token) {
  csrfToken = token || null;
}

/**
 * Sets what happens when the server says the session ended (401).
 * @param {(err: ApiError) => void} fn
 */
export function onSessionEnded(fn) {
  sessionEndedHandler = fn;
}

/** @typedef {Record<string, string | number | boolean | null | undefined>} Query */

/**
 * Sends a request. `body` is sent as JSON; `query` is an object of parameters
 * (empty values left out). Resolves with the JSON answer (undefined for 204),
 * as `unknown`: the caller states the answer's type from public/types.d.ts.
 * @param {string} method
 * @param {string} path
 * @param {{ body?: unknown, query?: Query, quiet401?: boolean }} [options]
 * @returns {Promise<unknown>}
 */
export async function request(method, path, { body, query, quiet401 = false } = {}) {
  let url = BASE + path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
    if ([...q].length) url += `?${q}`;
  }
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res;
  try {
    res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'network', PLAIN.network);
  }
  if (res.status === 204) return undefined;
  let json;
  try {
    json = await res.json();
  } catch {
    json = undefined;
  }
  if (res.ok) return json;
  const e = /** @type {{ error?: { code?: string, message?: string, details?: FieldProblem[] } } | undefined} */ (json)?.error || {};
  const retryAfter = Number(res.headers.get('Retry-After'));
  const err = new ApiError(res.status, e.code || `http_${res.status}`, e.message || `The server answered ${res.status}.`, e.details, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined);
  if (res.status === 401 && !quiet401) {
    err.sessionEnded = true;
    sessionEndedHandler(err);
  }
  throw err;
}

export const api = {
  /** @param {string} path @param {Query} [query] */
  get: (path, query) => request('GET', path, { query }),
  /** @param {string} path @param {unknown} [body] @param {Query} [query] */
  post: (path, body, query) => request('POST', path, { body, query }),
  /** @param {string} path @param {unknown} body */
  patch: (path, body) => request('PATCH', path, { body }),
  /** @param {string} path @param {Query} [query] */
  del: (path, query) => request('DELETE', path, { query }),
};

/** `encodeURIComponent` for path segments. */
export const seg = encodeURIComponent;
