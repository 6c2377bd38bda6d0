/**
 * Material for fuzzing the RTMP listener: a captured publish session (the
 * bytes a real ffmpeg sends, tapped on loopback), a seeded PRNG, mutators,
 * and hand-made hostile chunk streams (huge declared lengths, many chunk
 * streams, chunk size 0 or huge, deep AMF nesting …).
 */
import net from 'node:net';
import { push } from './media.js';
import { ChunkParser } from '../../src/ingest/rtmp/chunk-parser.js';
import { Amf0Reader } from '../../src/ingest/rtmp/amf0.js';

/** mulberry32: small, seeded, replayable. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Capture {
  /** Client → server bytes of a publish session, from the handshake on. */
  bytes: Buffer;
  /** Offset right after the `publish` command (a chunk boundary). */
  afterPublish: number;
  /** The client's chunk size at that point. */
  chunkSize: number;
}

/**
 * Records what ffmpeg sends when it publishes `file` to `rtmp://…/<app>/<streamId>`
 * through a tap in front of the server (at most `limit` bytes).
 */
export async function capturePublish(rtmpPort: number, app: string, streamId: string, file: string, limit = 400_000): Promise<Capture> {
  const chunks: Buffer[] = [];
  let size = 0;
  const tap = net.createServer((client) => {
    const up = net.connect(rtmpPort, '127.0.0.1');
    client.on('data', (d) => {
      if (size < limit) {
        chunks.push(d);
        size += d.length;
      }
      up.write(d);
    });
    up.on('data', (d) => client.write(d));
    client.on('error', () => undefined);
    up.on('error', () => undefined);
    client.on('close', () => up.destroy());
    up.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => tap.listen(0, '127.0.0.1', r));
  const port = (tap.address() as net.AddressInfo).port;
  const p = push(`rtmp://127.0.0.1:${port}/${app}/${streamId}`, file);
  await p.done;
  await new Promise((r) => tap.close(r));
  const bytes = Buffer.concat(chunks).subarray(0, limit);
  // Find where the publish command ends by replaying the chunk stream (after C0, C1, C2) through the server's parser, byte by byte.
  let afterPublish = -1;
  let chunkSize = 128;
  let offset = 1 + 2 * 1536;
  const parser: ChunkParser = new ChunkParser({
    maxChunkStreams: 64,
    maxBuffered: () => 64 * 1024 * 1024,
    onMessage: (type, _sid, _ts, payload) => {
      if (type === 1) parser.setChunkSize((chunkSize = payload.readUInt32BE(0)));
      if (type === 20 && afterPublish < 0 && new Amf0Reader(payload).read() === 'publish') afterPublish = offset;
    },
  });
  for (; offset < bytes.length && afterPublish < 0; ) {
    offset++;
    parser.push(bytes.subarray(offset - 1, offset));
  }
  if (afterPublish < 0) throw new Error('the captured session has no publish command');
  return { bytes, afterPublish, chunkSize };
}

/** Replaces every occurrence of `from` by `to` (same length, so no length field changes). */
export function replaceSameLength(b: Buffer, from: string, to: string): Buffer {
  if (from.length !== to.length) throw new Error('same length only');
  const out = Buffer.from(b);
  const needle = Buffer.from(from);
  for (let i = out.indexOf(needle); i >= 0; i = out.indexOf(needle, i + 1)) out.write(to, i);
  return out;
}

const INTERESTING = [0x00, 0x01, 0x02, 0x03, 0x3f, 0x40, 0x7f, 0x80, 0xbf, 0xc0, 0xfe, 0xff];

/** Mutates bytes: flips, interesting values, inserted and deleted runs, duplicated ranges, truncation. */
export function mutate(src: Buffer, rand: () => number, from = 0): Buffer {
  let b = Buffer.from(src);
  const n = 1 + Math.floor(rand() * 8);
  const at = () => from + Math.floor(rand() * Math.max(1, b.length - from));
  for (let i = 0; i < n; i++) {
    const kind = Math.floor(rand() * 6);
    if (kind === 0) b[at()] ^= 1 << Math.floor(rand() * 8);
    else if (kind === 1) b[at()] = INTERESTING[Math.floor(rand() * INTERESTING.length)];
    else if (kind === 2) {
      const p = at();
      b = Buffer.concat([b.subarray(0, p), randomBytes(rand, 1 + Math.floor(rand() * 64)), b.subarray(p)]);
    } else if (kind === 3) {
      const p = at();
      b = Buffer.concat([b.subarray(0, p), b.subarray(p + 1 + Math.floor(rand() * 256))]);
    } else if (kind === 4) {
      const p = at();
      const len = 1 + Math.floor(rand() * 512);
      b = Buffer.concat([b.subarray(0, p), b.subarray(p, p + len), b.subarray(p)]);
    } else {
      b = b.subarray(0, at() + 1);
    }
  }
  return b;
}

export function randomBytes(rand: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

/** A plain handshake: C0, C1 and C2 (the server does not check C2). */
export function handshake(): Buffer {
  return Buffer.concat([Buffer.from([3]), Buffer.alloc(1536, 1), Buffer.alloc(1536, 2)]);
}

/** One RTMP message as chunks: fmt 0 first, fmt 3 continuations, `chunkSize` bytes each. */
export function message(cid: number, type: number, payload: Buffer, opts: { declaredLength?: number; timestamp?: number; streamId?: number; chunkSize?: number } = {}): Buffer {
  const chunkSize = opts.chunkSize ?? 128;
  const basic = (fmt: number) => (cid < 64 ? Buffer.from([(fmt << 6) | cid]) : cid < 320 ? Buffer.from([fmt << 6, cid - 64]) : Buffer.from([(fmt << 6) | 1, (cid - 64) & 0xff, (cid - 64) >> 8]));
  const header = Buffer.alloc(11);
  const ts = opts.timestamp ?? 0;
  header.writeUIntBE(Math.min(ts, 0xffffff), 0, 3);
  header.writeUIntBE(opts.declaredLength ?? payload.length, 3, 3);
  header[6] = type;
  header.writeUInt32LE(opts.streamId ?? 0, 7);
  const ext = ts >= 0xffffff ? Buffer.from([ts >>> 24, (ts >>> 16) & 0xff, (ts >>> 8) & 0xff, ts & 0xff]) : Buffer.alloc(0);
  const parts: Buffer[] = [basic(0), header, ext];
  for (let off = 0; off < payload.length; off += chunkSize) {
    if (off > 0) parts.push(basic(3), ext);
    parts.push(payload.subarray(off, off + chunkSize));
  }
  return Buffer.concat(parts);
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** An AMF0 command: name, transaction id, then `rest` (already encoded). */
export function amfCommand(name: string, txn: number, rest: Buffer[]): Buffer {
  const str = (s: string) => Buffer.concat([Buffer.from([2, s.length >> 8, s.length & 0xff]), Buffer.from(s)]);
  const num = Buffer.alloc(9);
  num[0] = 0;
  num.writeDoubleBE(txn, 1);
  return Buffer.concat([str(name), num, ...rest]);
}

/** AMF0 objects nested `depth` deep (a recursion bomb for a naive decoder). */
export function nestedAmf(depth: number): Buffer {
  const open = Buffer.from([0x03, 0x00, 0x01, 0x61]); // object, key "a", value: …
  return Buffer.concat([Buffer.alloc(0), ...Array.from({ length: depth }, () => open), Buffer.from([0x05]), ...Array.from({ length: depth }, () => Buffer.from([0x00, 0x00, 0x09]))]);
}

/**
 * Hand-made hostile sessions. `publish` is a captured prefix ending right
 * after an accepted publish (chunk size `chunkSize`), for the cases that
 * attack a publishing connection.
 */
export function hostileSessions(publish: Buffer, chunkSize: number): Array<{ name: string; bytes: Buffer }> {
  const hs = handshake();
  const connect = message(3, 20, amfCommand('connect', 1, [Buffer.from([0x05])]));
  // One full chunk per message (exactly the chunk size), so the parser moves on to the next chunk stream
  // with each message still open, its 16 MiB buffer allocated.
  const huge = (n: number, firstCid: number, prefix: Buffer, cs = 128) =>
    Buffer.concat([prefix, ...Array.from({ length: n }, (_, i) => message(firstCid + i, 9, Buffer.alloc(cs, 0x17), { declaredLength: 0xffffff, chunkSize: cs }))]);
  return [
    { name: '64+ chunk streams each declaring 16 MiB, before publishing', bytes: huge(70, 4, hs) },
    { name: '5 chunk streams each declaring 16 MiB while publishing', bytes: huge(5, 10, publish, chunkSize) },
    { name: '300 chunk stream ids (2- and 3-byte basic headers)', bytes: Buffer.concat([hs, ...Array.from({ length: 300 }, (_, i) => message(60 + i * 3, 18, Buffer.alloc(10)))]) },
    { name: 'chunk size 0', bytes: Buffer.concat([hs, message(2, 1, u32(0)), connect]) },
    { name: 'chunk size 0x7fffffff', bytes: Buffer.concat([hs, message(2, 1, u32(0x7fffffff)), connect]) },
    { name: 'chunk size 0xffffffff', bytes: Buffer.concat([hs, message(2, 1, u32(0xffffffff)), connect]) },
    { name: 'chunk size message of 1 byte', bytes: Buffer.concat([hs, message(2, 1, Buffer.from([0])), connect]) },
    { name: 'chunk size 1 then a command', bytes: Buffer.concat([hs, message(2, 1, u32(1)), message(3, 20, amfCommand('connect', 1, [Buffer.from([0x05])]), { chunkSize: 1 })]) },
    { name: 'extended timestamps at the limit', bytes: Buffer.concat([hs, connect, message(4, 8, Buffer.alloc(300), { timestamp: 0xffffffff }), message(4, 8, Buffer.alloc(300), { timestamp: 0xffffff })]) },
    { name: 'AMF nested 100 000 deep in connect', bytes: Buffer.concat([hs, message(3, 20, amfCommand('connect', 1, [nestedAmf(100_000)]))]) },
    { name: 'connect with a 60 KB tcUrl and app', bytes: Buffer.concat([hs, message(3, 20, amfCommand('connect', 1, [Buffer.concat([Buffer.from([0x03]), amfKey('app'), amfLongString('x'.repeat(30_000)), amfKey('tcUrl'), amfLongString('rtmp://' + 'y'.repeat(30_000)), Buffer.from([0, 0, 9])])]))]) },
    { name: 'publish without connect, 10 KB name', bytes: Buffer.concat([hs, message(3, 20, amfCommand('publish', 5, [Buffer.from([0x05]), amfLongString('n'.repeat(10_000))]))]) },
    { name: 'zero-length messages of every type', bytes: Buffer.concat([hs, ...Array.from({ length: 24 }, (_, i) => message(3, i, Buffer.alloc(0)))]) },
    { name: 'data messages (AMF3, AMF0, aggregate) of garbage', bytes: Buffer.concat([hs, connect, message(5, 15, Buffer.alloc(500, 0xff)), message(5, 18, Buffer.alloc(500, 0x11)), message(5, 22, Buffer.alloc(500, 0x08))]) },
  ];
}

function amfKey(k: string): Buffer {
  return Buffer.concat([Buffer.from([k.length >> 8, k.length & 0xff]), Buffer.from(k)]);
}

function amfLongString(s: string): Buffer {
  const b = Buffer.alloc(5);
  b[0] = s.length > 0xffff ? 0x0c : 0x02;
  if (s.length > 0xffff) b.writeUInt32BE(s.length, 1);
  const head = s.length > 0xffff ? b : Buffer.from([0x02, s.length >> 8, s.length & 0xff]);
  return Buffer.concat([head, Buffer.from(s)]);
}

/**
 * Sends bytes in random-sized pieces, then waits a little for the server to
 * answer or close; resolves with whether the server closed the connection.
 */
export function sendSession(port: number, bytes: Buffer, rand: () => number, waitMs = 300): Promise<{ closedByServer: boolean; received: number }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = 0;
    let closedByServer = false;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve({ closedByServer, received });
    };
    socket.on('data', (d) => (received += d.length));
    socket.on('error', () => undefined);
    socket.on('end', () => (closedByServer = true));
    socket.on('close', () => {
      closedByServer = closedByServer || !done;
      finish();
    });
    socket.on('connect', async () => {
      let off = 0;
      while (off < bytes.length && !socket.destroyed) {
        const n = 1 + Math.floor(rand() * 8192);
        socket.write(bytes.subarray(off, off + n));
        off += n;
        if (rand() < 0.1) await new Promise((r) => setTimeout(r, 5));
      }
      setTimeout(finish, waitMs);
    });
  });
}
