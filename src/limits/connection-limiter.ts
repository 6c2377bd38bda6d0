/**
 * Caps on what clients may hold at once (connections, sessions, publishers):
 * a global cap and a per-address cap (IPv6 counted by /64, see
 * address-key.ts). A refusal is counted (for `/metrics`) and logged at a
 * bounded rate: one line per kind every 10 s at most, with how many were
 * refused since, so a flood cannot flood the log too.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../log/logger.js';
import { addressKey } from './address-key.js';

/** Which cap refused: the server-wide one or the per-address one. */
export type LimitScope = 'global' | 'per_ip';

export interface ConnectionLimiterOptions {
  /** What is counted, for logs and metrics: `http`, `rtmp`, `whip`, `publish`. */
  kind: string;
  /** At most this many at once over all clients (0: no cap). */
  max: number;
  /** At most this many at once per address (0: no cap). */
  maxPerIp: number;
  log: Logger;
  /** Called on each refusal (metrics). */
  onRefused?: (kind: string, scope: LimitScope) => void;
}

const LOG_EVERY_MS = 10_000;
/** `127.0.0.1` and `::1` (as `addressKey` gives them). */
const OWN_ADDRESSES = new Set(['127.0.0.1', addressKey('::1')]);

export class ConnectionLimiter {
  private total = 0;
  private readonly perIp = new Map<string, number>();
  private readonly log: Logger;
  private refusedSinceLog = 0;
  private lastLog = 0;

  constructor(private readonly o: ConnectionLimiterOptions) {
    this.log = o.log.child({ module: 'limits', kind: o.kind });
  }

  /** Takes a place for `address`; returns its release (call once), or why it was refused. */
  acquire(address: string): { ok: true; release: () => void } | { ok: false; scope: LimitScope } {
    const key = addressKey(address);
    const held = this.perIp.get(key) ?? 0;
    // The host's own address (a reverse proxy or the operator's tools on this machine) has no per-address cap; the global cap still applies.
    const perIp = this.o.maxPerIp > 0 && !OWN_ADDRESSES.has(key);
    const scope: LimitScope | undefined = this.o.max > 0 && this.total >= this.o.max ? 'global' : perIp && held >= this.o.maxPerIp ? 'per_ip' : undefined;
    if (scope) {
      this.refused(key, scope);
      return { ok: false, scope };
    }
    this.total++;
    this.perIp.set(key, held + 1);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.total--;
        const n = (this.perIp.get(key) ?? 1) - 1;
        if (n > 0) this.perIp.set(key, n);
        else this.perIp.delete(key);
      },
    };
  }

  /** Admits a socket (released when it closes) or destroys it at once; returns whether it was admitted. */
  admitSocket(socket: Socket, refusal?: string): boolean {
    const r = this.acquire(socket.remoteAddress ?? '?');
    if (!r.ok) {
      // An answer is best effort: a refused client gets it if it reads at once; the socket is gone either way.
      if (refusal) socket.end(refusal);
      socket.destroy();
      return false;
    }
    socket.once('close', r.release);
    return true;
  }

  /** Held places now (tests, health). */
  get size(): number {
    return this.total;
  }

  private refused(key: string, scope: LimitScope): void {
    this.o.onRefused?.(this.o.kind, scope);
    this.refusedSinceLog++;
    const now = Date.now();
    if (now - this.lastLog < LOG_EVERY_MS) return;
    this.log.warn({ address: key, scope, refused: this.refusedSinceLog, max: this.o.max, maxPerIp: this.o.maxPerIp }, 'connection refused: limit reached');
    this.lastLog = now;
    this.refusedSinceLog = 0;
  }
}
