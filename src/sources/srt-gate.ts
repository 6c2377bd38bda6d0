/**
 * The `streamid` check of an SRT listener source. ffmpeg's SRT listener
 * accepts any stream id, so when a source names one, the server owns the
 * public UDP port itself and relays to ffmpeg's listener on a loopback port,
 * letting a caller through only once its conclusion handshake carries the
 * expected stream id (the SRT `SID` handshake extension, sent in clear even
 * with encryption). Packets of a refused caller are dropped: its handshake
 * times out. ffmpeg's listener takes one caller at a time.
 *
 * The passphrase is ffmpeg's (libsrt's) check: a caller with another
 * passphrase fails the key exchange and is rejected by the listener itself.
 */
import dgram from 'node:dgram';
import type { Logger } from '../log/logger.js';

const HANDSHAKE = 0x0000;
const CONCLUSION = 0xffffffff;
const EXT_SID = 5;
/** A refused caller's packets are dropped this long. */
const REFUSED_MS = 10_000;

interface Peer {
  sock: dgram.Socket;
}

export class SrtGate {
  private pub: dgram.Socket | null = null;
  private readonly peers = new Map<string, Peer>();
  private readonly refused = new Map<string, number>();
  /** Callers whose conclusion handshake carried the right stream id (ffmpeg may still refuse their passphrase). */
  private readonly passed = new Set<string>();
  private last: string | null = null;
  private innerPort = 0;

  constructor(
    private readonly o: {
      bindHost: string;
      port: number;
      streamId: string;
      log: Logger;
      /** A caller was refused (wrong stream id). */
      onRefused?: (address: string, sid: string | null) => void;
    },
  ) {}

  /** Binds the public port; resolves with the loopback port ffmpeg's listener must bind. */
  async start(): Promise<number> {
    this.innerPort = await freeUdpPort();
    const pub = dgram.createSocket(this.o.bindHost.includes(':') ? 'udp6' : 'udp4');
    this.pub = pub;
    pub.on('message', (msg, rinfo) => this.fromCaller(msg, `${rinfo.address}:${rinfo.port}`, rinfo));
    pub.on('error', (err) => this.o.log.warn({ err: err.message }, 'srt gate socket error'));
    await new Promise<void>((resolve, reject) => {
      pub.once('error', reject);
      pub.bind(this.o.port, this.o.bindHost, () => {
        pub.off('error', reject);
        resolve();
      });
    });
    return this.innerPort;
  }

  /** The address of the last caller that passed, once there is one. */
  get caller(): string | null {
    return this.last;
  }

  private fromCaller(msg: Buffer, key: string, rinfo: dgram.RemoteInfo): void {
    const until = this.refused.get(key);
    if (until !== undefined) {
      if (Date.now() < until) return;
      this.refused.delete(key);
    }
    if (!this.passed.has(key)) {
      const hs = handshakeOf(msg);
      if (!hs) return; // nothing but handshakes before a caller passed
      if (hs.type === CONCLUSION) {
        if (hs.sid !== this.o.streamId) {
          this.refused.set(key, Date.now() + REFUSED_MS);
          this.o.log.warn({ remoteAddress: key, streamid: hs.sid }, 'srt caller refused: wrong streamid');
          this.o.onRefused?.(key, hs.sid);
          return;
        }
        this.passed.add(key);
        this.last = key;
      }
    }
    this.peer(key, rinfo).sock.send(msg, this.innerPort, '127.0.0.1');
  }

  private peer(key: string, rinfo: dgram.RemoteInfo): Peer {
    let p = this.peers.get(key);
    if (p) return p;
    const sock = dgram.createSocket('udp4');
    sock.on('message', (m) => this.pub?.send(m, rinfo.port, rinfo.address));
    sock.on('error', () => undefined);
    sock.bind(0, '127.0.0.1');
    p = { sock };
    this.peers.set(key, p);
    return p;
  }

  close(): void {
    for (const p of this.peers.values()) p.sock.close();
    this.peers.clear();
    this.pub?.close();
    this.pub = null;
  }
}

/** The handshake type and stream id of an SRT handshake packet, or null for any other packet. */
export function handshakeOf(msg: Buffer): { type: number; sid: string | null } | null {
  if (msg.length < 64 || !(msg[0] & 0x80)) return null;
  if ((msg.readUInt16BE(0) & 0x7fff) !== HANDSHAKE) return null;
  const type = msg.readUInt32BE(36);
  let sid: string | null = null;
  for (let off = 64; off + 4 <= msg.length; ) {
    const ext = msg.readUInt16BE(off);
    const words = msg.readUInt16BE(off + 2);
    const body = msg.subarray(off + 4, off + 4 + words * 4);
    if (ext === EXT_SID) {
      // libsrt sends the string in 32-bit words, each with its bytes reversed.
      const b = Buffer.from(body);
      for (let i = 0; i + 4 <= b.length; i += 4) b.subarray(i, i + 4).reverse();
      sid = b.toString('utf8').replace(/\0+$/, '');
    }
    off += 4 + words * 4;
    if (words === 0 && ext === 0) break;
  }
  return { type, sid };
}

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(r));
  return port;
}
