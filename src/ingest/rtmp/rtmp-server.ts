/**
 * The RTMP ingest listener. Publish URL `rtmp://host:<port>/<app>/<streamId>`,
 * i.e. OBS Server `rtmp://host:<port>/<app>` and Stream Key `<streamId>`.
 */
import net from 'node:net';
import type { Logger } from '../../log/logger.js';
import type { Lifecycle } from '../../lifecycle.js';
import type { StreamRegistry } from '../stream-registry.js';
import { RtmpConnection } from './rtmp-connection.js';

export interface RtmpServerOptions {
  /** Bind address. */
  host: string;
  /** Port; 0 picks a free one (see `port` after start). */
  port: number;
  /** Where publishes are claimed and released. */
  registry: StreamRegistry;
  log: Logger;
  /** Milliseconds without a byte from a client before it is dropped. */
  idleTimeoutMs: number;
  /** Caps open connections: a refused socket is closed at once (src/limits/connection-limiter.ts). */
  connections?: { admitSocket(socket: net.Socket): boolean };
}

/** A connection must have published within this many idle timeouts (at least 10 s) of connecting. */
const PUBLISH_DEADLINE_IDLE_TIMEOUTS = 3;

export class RtmpServer implements Lifecycle {
  private readonly server = net.createServer((s) => this.accept(s));
  private readonly connections = new Set<RtmpConnection>();
  private readonly log: Logger;
  private listening = false;

  constructor(private readonly options: RtmpServerOptions) {
    this.log = options.log.child({ module: 'rtmp' });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.listening = true;
    this.log.info({ host: this.options.host, port: this.port }, 'rtmp listening');
  }

  /** The bound port. */
  get port(): number {
    const a = this.server.address();
    return a && typeof a === 'object' ? a.port : this.options.port;
  }

  private accept(socket: net.Socket): void {
    if (this.options.connections && !this.options.connections.admitSocket(socket)) return;
    const { idleTimeoutMs } = this.options;
    const publishDeadlineMs = Math.max(10_000, idleTimeoutMs * PUBLISH_DEADLINE_IDLE_TIMEOUTS);
    const conn = new RtmpConnection({ socket, registry: this.options.registry, log: this.log, idleTimeoutMs, publishDeadlineMs });
    this.connections.add(conn);
    void conn.closed.then(() => this.connections.delete(conn));
  }

  /** Stops accepting connections; existing ones stay until `closeAll`. */
  async stopListening(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Closes every client connection and waits until their sockets are gone. */
  async closeAll(reason: string): Promise<void> {
    const all = [...this.connections];
    for (const c of all) c.close(reason);
    await Promise.all(all.map((c) => c.closed));
  }

  async stop(): Promise<void> {
    const closing = this.stopListening();
    await this.closeAll('shutdown');
    await closing;
  }
}
