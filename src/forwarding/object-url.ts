/**
 * Building the URL a request is forwarded to. The target is always the
 * configured base URL's origin and path followed by an encoded object key, so
 * nothing in the request path or query (`//evil.com`, `@evil.com`, `%2F%2F`,
 * backslashes …) can change where a redirect points: no open redirect.
 */
import { AppError } from '../errors.js';
import type { MediaFolder } from '../http/media-routes.js';

/** The Ant Media mapping of a file unknown to the catalog: `/<app>/streams/x.mp4` → `streams/x.mp4`. */
export function plainKey(folder: MediaFolder, fileName: string): string {
  return `${folder}/${fileName}`;
}

/** RFC 3986 encoding of one key segment, as S3 expects it. */
function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Checked `<base>/<key>` URLs: every request for one file builds the same one (profiled: parsing it again was a
 * visible cost). Kept per base URL object (an app's plan holds one), then per key: no key string built per request.
 */
const checked = new WeakMap<URL, Map<string, string>>();
const MAX_CHECKED = 10_000;

/** `<base>/<key>[?query]`; throws if the result would leave the base (defence in depth). */
export function objectUrl(base: URL, key: string, query = ''): string {
  let urls = checked.get(base);
  if (!urls) checked.set(base, (urls = new Map()));
  let url = urls.get(key);
  if (url === undefined) {
    url = checkedUrl(base, key);
    if (urls.size >= MAX_CHECKED) urls.clear();
    urls.set(key, url);
  }
  // The query cannot move the target: it follows the path, after `?`.
  return query ? `${url}?${query}` : url;
}

function checkedUrl(base: URL, key: string): string {
  // URL parsing would resolve dot segments and climb out of the base path.
  if (key.split('/').some((s) => s === '..' || s === '.')) throw new AppError('bad_forward_target', 'object key has dot segments', 500);
  const basePath = base.pathname.replace(/\/+$/, '');
  const url = `${base.origin}${basePath}/${key.split('/').map(encodeSegment).join('/')}`;
  const check = new URL(url);
  if (check.origin !== base.origin || !check.pathname.startsWith(`${basePath}/`)) {
    throw new AppError('bad_forward_target', 'forwarding target outside the base URL', 500);
  }
  return url;
}

/** Bytes that may stay as they are in a query string; everything else is percent-encoded. */
const QUERY_SAFE = /[A-Za-z0-9\-._~!$&'()*+,;=:@/?]/;
/** A query that is already safe as it is: safe characters and well-formed escapes only. */
const SAFE_QUERY = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*$/;

/**
 * The request's raw query string, made safe for a `Location` header: kept as
 * sent (Ant Media keeps it), with valid `%XX` escapes untouched and every other
 * unsafe byte percent-encoded. Node hands the request line over as latin1, so
 * each char is one byte.
 */
export function safeQuery(originalUrl: string): string {
  const i = originalUrl.indexOf('?');
  if (i < 0) return '';
  const raw = originalUrl.slice(i + 1);
  if (SAFE_QUERY.test(raw)) return raw;
  let out = '';
  for (let j = 0; j < raw.length; j++) {
    const c = raw[j];
    if (c === '%' && /^[0-9A-Fa-f]{2}$/.test(raw.slice(j + 1, j + 3))) out += c;
    else if (QUERY_SAFE.test(c)) out += c;
    else out += `%${(raw.charCodeAt(j) & 0xff).toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
