/**
 * The server side of the RTMP handshake: C0+C1 in, S0+S1+S2 out, then C2.
 *
 * Design note: most publishers (ffmpeg, OBS and GStreamer through librtmp)
 * accept the simple handshake, where S2 echoes C1. Clients that put a Flash
 * Player digest in C1 (Flash-era encoders; some hardware) expect an answer in
 * the same "complex" scheme, so when C1's digest checks out the server answers
 * with its own digest (the FMS keys below are public constants of the scheme).
 */
import { createHmac, randomBytes } from 'node:crypto';

/** C1, S1, C2 and S2 are this long. */
export const HANDSHAKE_SIZE = 1536;
/** The only RTMP version byte (C0) accepted: 3, plain RTMP. */
export const RTMP_VERSION = 3;

const DIGEST_LENGTH = 32;
const FP_KEY = Buffer.from('Genuine Adobe Flash Player 001', 'latin1');
const FMS_KEY = Buffer.from('Genuine Adobe Flash Media Server 001', 'latin1');
const KEY_TAIL = Buffer.from('f0eec24a8068bee82e00d0d1029e7e576eec5d2d29806fab93b8e636cfeb31ae', 'hex');
const FMS_KEY_FULL = Buffer.concat([FMS_KEY, KEY_TAIL]);

function hmac(data: Buffer, key: Buffer): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** Offset of the digest in scheme 0 (digest in the first half) or 1 (in the second). */
function digestOffset(buf: Buffer, scheme: 0 | 1): number {
  const base = scheme === 0 ? 8 : 772;
  return ((buf[base] + buf[base + 1] + buf[base + 2] + buf[base + 3]) % 728) + base + 4;
}

function digestAt(buf: Buffer, offset: number, key: Buffer): Buffer {
  return hmac(Buffer.concat([buf.subarray(0, offset), buf.subarray(offset + DIGEST_LENGTH)]), key);
}

/** Which digest scheme C1 uses, or null for a simple (digest-less) C1. */
function clientScheme(c1: Buffer): 0 | 1 | null {
  for (const scheme of [1, 0] as const) {
    const off = digestOffset(c1, scheme);
    if (digestAt(c1, off, FP_KEY).equals(c1.subarray(off, off + DIGEST_LENGTH))) return scheme;
  }
  return null;
}

/** S0+S1+S2 for a client's C1. */
export function handshakeReply(c1: Buffer): Buffer {
  const scheme = clientScheme(c1);
  const out = Buffer.allocUnsafe(1 + HANDSHAKE_SIZE * 2);
  out[0] = RTMP_VERSION;
  if (scheme === null) {
    // S1: our time (0) and zeros then random bytes; S2 echoes C1.
    out.fill(0, 1, 9);
    randomBytes(HANDSHAKE_SIZE - 8).copy(out, 9);
    c1.copy(out, 1 + HANDSHAKE_SIZE);
    return out;
  }
  const s1 = out.subarray(1, 1 + HANDSHAKE_SIZE);
  randomBytes(HANDSHAKE_SIZE).copy(s1);
  s1.writeUInt32BE(0, 0);
  Buffer.from([4, 5, 0, 1]).copy(s1, 4); // a server version: tells the client S1 carries a digest
  const s1Off = digestOffset(s1, scheme);
  digestAt(s1, s1Off, FMS_KEY).copy(s1, s1Off);
  const s2 = out.subarray(1 + HANDSHAKE_SIZE);
  randomBytes(HANDSHAKE_SIZE - DIGEST_LENGTH).copy(s2);
  const c1Off = digestOffset(c1, scheme);
  const key = hmac(c1.subarray(c1Off, c1Off + DIGEST_LENGTH), FMS_KEY_FULL);
  hmac(s2.subarray(0, HANDSHAKE_SIZE - DIGEST_LENGTH), key).copy(s2, HANDSHAKE_SIZE - DIGEST_LENGTH);
  return out;
}
