/**
 * The RTMP ingest listener. Publish URL `rtmp://host:<port>/<app>/<streamId>`,
 * i.e. OBS Server `rtmp://host:<port>/<app>` and Stream Key `<streamId>`.
 * With `tls` it is the RTMPS listener (`rtmps://…`): the same connections and
 * publish rules behind a TLS handshake, its certificate re-read on demand.
 */
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { AppError } from '../../errors.js';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { IngestServer, IngestServerOptions, PublisherSession } from '../types.js';
import { RtmpConnection } from './rtmp-connection.js';
import { ReadPacer } from './read-pacer.js';

/** One RTMP (or RTMPS) listener. */
export interface RtmpListenerSettings {
  /** Bind address. */
  host: string;
  /** Port; 0 picks a free one (see `port` after start). */
  port: number;
  /** Milliseconds without a byte from a client before it is dropped. */
  idleTimeoutMs: number;
  /** Serve RTMPS: TLS with this PEM certificate and key (files re-read by `reloadTls`). */
  tls?: { certFile: string; keyFile: string };
}

/** `limits` caps open connections (RTMP and RTMPS share one): a refused socket is closed at once. */
export type RtmpServerOptions = IngestServerOptions<RtmpListenerSettings>;

/** A connection must have published within this many idle timeouts (at least 10 s) of connecting. */
const PUBLISH_DEADLINE_IDLE_TIMEOUTS = 3;

export class RtmpServer implements IngestServer {
  private readonly server: net.Server;
  private readonly connections = new Set<RtmpConnection>();
  /** RTMPS: every TCP connection until it closes (those still in the TLS handshake are in no `RtmpConnection`). */
  private readonly tcp = new Set<net.Socket>();
  private readonly log: Logger;
  private listening = false;
  private readonly pacer = new ReadPacer();
  private readonly settings: RtmpListenerSettings;

  constructor(private readonly options: RtmpServerOptions) {
    const settings = (this.settings = options.settings);
    this.log = options.log.child({ module: settings.tls ? 'rtmps' : 'rtmp' });
    if (!settings.tls) {
      // A readable high-water mark of one byte: a socket waiting for its read tick stops reading after one read (read-pacer.ts).
      this.server = net.createServer({ highWaterMark: 1 }, (s) => this.accept(s));
      return;
    }
    const secure = tls.createServer({ ...this.readTls(), handshakeTimeout: settings.idleTimeoutMs }, (s) => this.accept(s, true));
    // The cap counts TCP connections, handshaking ones included: a flood of clients that never finish the handshake
    // must not escape it. (A refused raw socket is destroyed; the TLS socket wrapping it closes with it.)
    secure.on('connection', (raw: net.Socket) => {
      if (!this.admit(raw)) return;
      this.tcp.add(raw);
      raw.once('close', () => this.tcp.delete(raw));
    });
    // A plain-RTMP client, a scanner, a handshake that timed out or a bad certificate setup on the client side: logged
    // quietly and the socket destroyed. Node only reports these: a client that connects and never completes the
    // handshake would otherwise hold its descriptor for as long as it keeps the TCP connection open.
    secure.on('tlsClientError', (err, s) => {
      this.log.debug({ err: err.message, remoteAddress: s.remoteAddress }, 'rtmps handshake failed');
      s.destroy();
    });
    this.server = secure;
  }

  private readTls(): { cert: Buffer; key: Buffer } {
    const files = this.settings.tls!;
    try {
      const creds = { cert: readFileSync(files.certFile), key: readFileSync(files.keyFile) };
      tls.createSecureContext(creds); // a key that does not match its certificate fails here, not at the first client
      return creds;
    } catch (err) {
      throw new AppError('tls_unusable', `cannot use the RTMPS certificate ${files.certFile} and key ${files.keyFile}: ${errorMessage(err)}`, 500);
    }
  }

  /** Re-reads the certificate and key (SIGHUP, after a renewal); on failure the current ones stay. */
  reloadTls(): void {
    if (!this.settings.tls) return;
    try {
      (this.server as tls.Server).setSecureContext(this.readTls());
      this.log.info({ certFile: this.settings.tls.certFile }, 'rtmps certificate reloaded');
    } catch (err) {
      this.log.error({ err: errorMessage(err) }, 'rtmps certificate reload failed, keeping the current one');
    }
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.settings.port, this.settings.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.listening = true;
    this.log.info({ host: this.settings.host, port: this.port }, this.settings.tls ? 'rtmps listening' : 'rtmp listening');
  }

  /** The bound port. */
  get port(): number {
    const a = this.server.address();
    return a && typeof a === 'object' ? a.port : this.settings.port;
  }

  /** Takes a place under the connection caps for a socket (given back when it closes), or closes it at once. */
  private admit(socket: net.Socket): boolean {
    const place = this.options.limits?.acquire(socket.remoteAddress ?? '?');
    if (!place) return true;
    if (!place.ok) {
      socket.destroy();
      return false;
    }
    socket.once('close', place.release);
    return true;
  }

  /** Every accepted client (after the TLS handshake for RTMPS, whose TCP connection was admitted on arrival) comes through here: the place to refuse one. */
  private accept(socket: net.Socket, admitted = false): void {
    if (!admitted && !this.admit(socket)) return;
    const { idleTimeoutMs } = this.settings;
    const publishDeadlineMs = Math.max(10_000, idleTimeoutMs * PUBLISH_DEADLINE_IDLE_TIMEOUTS);
    const conn = new RtmpConnection({ socket, registry: this.options.registry, log: this.log, idleTimeoutMs, publishDeadlineMs, pacer: this.pacer });
    this.connections.add(conn);
    void conn.closed.then(() => this.connections.delete(conn));
  }

  /** Its publishing connections. */
  list(): PublisherSession[] {
    return [...this.connections].filter((c) => c.publishing);
  }

  /** Stops accepting connections; existing ones stay until `closeAll`. */
  async stopListening(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /**
   * Closes every client connection and waits until their sockets are gone; for RTMPS, then destroys the TCP
   * connections still in the TLS handshake (the listener's close waits for every connection, and a client that
   * never finishes its handshake would otherwise hold the shutdown until the handshake timeout).
   */
  async closeAll(reason: string): Promise<void> {
    const all = [...this.connections];
    for (const c of all) c.close(reason);
    await Promise.all(all.map((c) => c.closed));
    for (const raw of this.tcp) raw.destroy();
  }

  async stop(): Promise<void> {
    const closing = this.stopListening();
    await this.closeAll('shutdown');
    await closing;
  }
}
