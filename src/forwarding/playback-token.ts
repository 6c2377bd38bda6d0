/**
 * Viewing tokens of an app with `playback.access: "signed"`.
 *
 *   token   = <payload>.<signature>
 *   payload = base64url(JSON {"a": app, "e": expiry, "p"?: path prefix, "ip"?: client address})
 *   signature = base64url(HMAC-SHA256(key = the app's viewing key, message = payload))
 *
 * `e` is Unix time in seconds after which the token is refused; `p` a prefix of
 * the URL path after `/<app>/` (`streams/cam1_20261204T101500Z` admits that
 * recording's MP4, playlist and segments); `ip` the one client address allowed.
 * The viewing key is derived from the server's secret key (see main.ts), so
 * tokens are minted by the server's API only.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface PlaybackClaims {
  app: string;
  /** Unix seconds. */
  expiresAt: number;
  /** Prefix of the path after `/<app>/`. */
  prefix?: string;
  /** The only client address the token works from. */
  ip?: string;
}

/** Why a token is refused: the `code` of the 403 answer. */
export type TokenRefusal = 'token_required' | 'token_invalid' | 'token_expired' | 'token_path' | 'token_ip';

export type TokenCheck = { ok: true; claims: PlaybackClaims } | { ok: false; code: TokenRefusal; message: string };

/** Signs claims with the app's viewing key. */
export function signPlaybackToken(key: Buffer, claims: PlaybackClaims): string {
  const body: Record<string, unknown> = { a: claims.app, e: claims.expiresAt };
  if (claims.prefix) body.p = claims.prefix;
  if (claims.ip) body.ip = normalizeIp(claims.ip);
  const payload = Buffer.from(JSON.stringify(body)).toString('base64url');
  return `${payload}.${mac(key, payload)}`;
}

/** Checks a token for a request of `app` on `path` (after `/<app>/`) from `ip` at `now` (Unix seconds). Messages never repeat the token. */
export function verifyPlaybackToken(key: Buffer, token: string | undefined, want: { app: string; path: string; ip: string; now: number }): TokenCheck {
  if (!token) return { ok: false, code: 'token_required', message: `application "${want.app}" is private: add ?token= (minted by POST /api/v1/applications/${want.app}/playback-tokens)` };
  const dot = token.indexOf('.');
  const invalid = { ok: false, code: 'token_invalid', message: 'invalid viewing token (malformed, or signed for another application or key)' } as const;
  if (dot < 1 || token.length > 2048) return invalid;
  const payload = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  const expected = Buffer.from(mac(key, payload), 'base64url');
  // The signature first: nothing is said about a token's contents unless the server made it.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return invalid;
  let body: { a?: unknown; e?: unknown; p?: unknown; ip?: unknown };
  try {
    body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof body;
  } catch {
    return invalid;
  }
  if (body.a !== want.app || typeof body.e !== 'number') return invalid;
  const claims: PlaybackClaims = { app: body.a, expiresAt: body.e, prefix: typeof body.p === 'string' ? body.p : undefined, ip: typeof body.ip === 'string' ? body.ip : undefined };
  if (claims.expiresAt <= want.now) return { ok: false, code: 'token_expired', message: `viewing token expired at ${new Date(claims.expiresAt * 1000).toISOString()}` };
  if (claims.prefix && !want.path.startsWith(claims.prefix)) return { ok: false, code: 'token_path', message: 'viewing token is not valid for this path' };
  if (claims.ip && claims.ip !== normalizeIp(want.ip)) return { ok: false, code: 'token_ip', message: 'viewing token is not valid from this address' };
  return { ok: true, claims };
}

/** `::ffff:1.2.3.4` → `1.2.3.4`: one address, one spelling. */
export function normalizeIp(ip: string): string {
  const v = ip.trim().toLowerCase();
  return v.startsWith('::ffff:') && v.includes('.') ? v.slice(7) : v;
}

function mac(key: Buffer, payload: string): string {
  return createHmac('sha256', key).update(payload).digest('base64url');
}
