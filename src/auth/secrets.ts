/** Random secrets, their hashes and constant-time comparison, as the auth module uses them. */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A random URL-safe secret with a recognizable prefix (`bct_…`, `sk_…`). */
export function newSecret(prefix: string, bytes = 32): string {
  return `${prefix}${randomBytes(bytes).toString('base64url')}`;
}

/** SHA-256 (hex): what is stored of a high-entropy secret (session ids, API tokens, stream keys). */
export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** HMAC-SHA256 (hex). */
export function hmacHex(key: string, message: string): string {
  return createHmac('sha256', key).update(message, 'utf8').digest('hex');
}

/** Compares two strings without leaking where they differ (different lengths compare unequal). */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The first characters of a secret, to tell secrets apart in listings (`bct_Ab3dEf…`). */
export function hintOf(secret: string, visible = 8): string {
  return `${secret.slice(0, visible)}…`;
}
