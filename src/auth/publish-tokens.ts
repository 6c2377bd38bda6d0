/**
 * Signed publish tokens (an app's `publishSecurity.mode: "signedTokens"`).
 *
 *   token     = <expiry>.<signature>
 *   expiry    = Unix time in seconds (UTC) after which the token no longer starts a publish
 *   signature = lowercase hex HMAC-SHA256(key = the app's signing secret,
 *                                         message = "<app>/<streamId>/<expiry>")
 *
 * App names and stream ids cannot contain "/", so the message is unambiguous.
 * An operator's backend mints them with any HMAC library, e.g.
 *   printf '%s' "live/cam1/1767225600" | openssl dgst -sha256 -hmac "$SECRET" -hex
 * The expiry is checked when a publish starts; a stream that is live keeps going.
 */
import { hmacHex, sameSecret } from './secrets.js';

const TOKEN = /^(\d{1,12})\.([0-9a-f]{64})$/;

/** Makes a token for one stream id, valid until `expiresAt` (Unix seconds). */
export function signPublishToken(secret: string, app: string, streamId: string, expiresAt: number): string {
  return `${expiresAt}.${hmacHex(secret, `${app}/${streamId}/${expiresAt}`)}`;
}

export type TokenCheck = { ok: true; expiresAt: number } | { ok: false; reason: string };

/** Checks a token for a stream id at `now` (Unix seconds). Reasons never repeat the token. */
export function verifyPublishToken(secret: string, app: string, streamId: string, token: string, now: number, maxLifetimeSeconds: number): TokenCheck {
  const m = TOKEN.exec(token);
  if (!m) return { ok: false, reason: 'malformed token (expected <expiry>.<64 hex digits>)' };
  const expiresAt = Number(m[1]);
  const expected = hmacHex(secret, `${app}/${streamId}/${expiresAt}`);
  // The signature first, so expiry messages are only given for genuine tokens.
  if (!sameSecret(m[2], expected)) return { ok: false, reason: 'invalid token signature (wrong secret, app or stream id)' };
  if (expiresAt <= now) return { ok: false, reason: `token expired at ${new Date(expiresAt * 1000).toISOString()}` };
  if (expiresAt - now > maxLifetimeSeconds) return { ok: false, reason: `token expiry is more than ${maxLifetimeSeconds} s ahead (publishSecurity.maxTokenLifetimeSeconds)` };
  return { ok: true, expiresAt };
}
