/**
 * `GET /api/v1/events` (WebSocket): live events for the panel, as JSON text
 * messages `{type, data, at}`:
 *   hello                 on connect: `{user, apps}` (the filter, or null)
 *   stream.started        a publisher was accepted
 *   stream.ended          it left (`reason`)
 *   stream.refused        a publisher was refused (`code`, `reason`; on the node that refused it)
 *   recording.started     a recording began (`recordingId`, `name`)
 *   recording.completed   its files are final (local paths left out)
 *   recording.part        one MP4 part of a recording in progress is final
 *   upload.progress       bytes of one file sent (at most one a second per file, and the last)
 *   upload.completed      one file is in the bucket and verified
 *   upload.failed         an attempt failed (`errorClass`, `code`, `message`, `nextAttemptAt`)
 *   recording.uploaded    every file of a recording meant for the bucket is there
 *   source.state          a pulled source's state changed (connecting, live, failed + lastError)
 *   import.progress       an import's progress (reading with a fraction, recorded, completed, failed)
 * `?app=<name>` limits the events to one application. In a cluster (several
 * nodes on one PostgreSQL) the stream and recording events of the other nodes
 * come too (NOTIFY), each with `node` naming where it happened; upload progress
 * and per-file upload completions stay on the node that uploads.
 *
 * Authentication happens on the upgrade: the session cookie (then not from
 * another site's page, as the API's CSRF rule says) or `Authorization: Bearer`;
 * anything else is answered `401` and the socket closed. The server pings
 * every 25 s (closing peers that do not answer) and checks the session is
 * still valid; one that ended (logout, expiry, password change) is closed
 * with code 4401. On shutdown every socket is closed with 1001.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AuthService, Principal } from '../auth/auth-service.js';
import { fromAnotherSite, sessionIdFrom } from '../auth/http-auth.js';
import type { EventBus } from '../events/event-bus.js';
import type { BusEvents } from '../events/types.js';
import type { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../log/logger.js';
import type { RecordingCatalog } from '../db/types.js';
import { uploadStateOf } from '../db/upload-state.js';
import { errorMessage } from '../errors.js';
import { refuseUpgrade, type UpgradeRoutes } from '../http/upgrades.js';

export const EVENTS_PATH = '/api/v1/events';
const HEARTBEAT_MS = 25_000;
const PROGRESS_EVERY_MS = 1_000;
/** A client this far behind gets no progress messages until it catches up (the others are never dropped). */
const SLOW_CLIENT_BYTES = 1 << 20;

export interface EventsChannelOptions {
  /** The HTTP server's upgrade paths (the channel takes `EVENTS_PATH`; others are refused there). */
  upgrades: UpgradeRoutes;
  /** Where the events come from. */
  events: EventBus<BusEvents>;
  /** Checks the cookie or token of each upgrade (and again at each heartbeat). */
  auth: AuthService;
  /** Recordings and their files (`recording.uploaded`). */
  catalog: RecordingCatalog;
  /** The cluster: this node's events go to the other nodes' channels, and theirs come here. */
  cluster?: {
    publishEvent(type: string, app: string, data: unknown): void;
    onEvent(fn: (type: string, app: string, data: unknown, node: string) => void): () => void;
  };
  log: Logger;
}

/** Events shared with the other nodes of a cluster (not the per-file, per-second ones). */
const CLUSTER_EVENTS = new Set(['stream.started', 'stream.ended', 'recording.started', 'recording.completed', 'recording.part', 'recording.uploaded', 'upload.failed']);

interface Client {
  ws: WebSocket;
  principal: Principal;
  sessionId?: string;
  authorization?: string;
  app?: string;
  alive: boolean;
}

export class EventsChannel implements Lifecycle {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  private readonly clients = new Set<Client>();
  private readonly removers: Array<() => void> = [];
  private readonly lastProgress = new Map<string, number>();
  private readonly log: Logger;
  private heartbeat?: NodeJS.Timeout;
  private closing = false;

  constructor(private readonly o: EventsChannelOptions) {
    this.log = o.log.child({ module: 'events-channel' });
  }

  async start(): Promise<void> {
    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.upgrade(req, socket, head).catch((err) => {
        this.log.error({ err: errorMessage(err) }, 'events upgrade failed');
        refuse(socket, 500, 'internal', 'internal error');
      });
    };
    this.removers.push(this.o.upgrades.add(EVENTS_PATH, onUpgrade));
    const { events, cluster } = this.o;
    if (cluster) this.removers.push(cluster.onEvent((type, app, data, node) => this.broadcast(type, app, { ...(data as object), node }, false, true)));
    const forward = <K extends keyof BusEvents>(name: K, map: (p: BusEvents[K]) => unknown = (p) => p) =>
      this.removers.push(events.on(name, (p) => this.broadcast(name, (p as { app: string }).app, map(p))));
    forward('stream.started');
    forward('stream.ended');
    forward('stream.refused');
    forward('recording.started');
    forward('recording.completed', (r) => ({ ...r, files: r.files.map(({ path: _local, ...f }) => f), parts: r.parts?.map(({ path: _local, ...p }) => p) }));
    forward('recording.part', (e) => ({ ...e, part: { ...e.part, path: undefined } }));
    forward('upload.completed');
    forward('upload.failed');
    forward('source.state');
    forward('import.progress');
    this.removers.push(
      events.on('upload.progress', (p) => {
        const k = `${p.recordingId}/${p.name}`;
        const now = Date.now();
        const done = p.loaded >= p.total;
        if (!done && now - (this.lastProgress.get(k) ?? 0) < PROGRESS_EVERY_MS) return;
        if (done) this.lastProgress.delete(k);
        else this.lastProgress.set(k, now);
        this.broadcast('upload.progress', p.app, p, true);
      }),
      events.on('upload.completed', async (u) => {
        this.lastProgress.delete(`${u.recordingId}/${u.name}`);
        if (this.clients.size === 0) return;
        const r = await this.o.catalog.getRecording(u.recordingId);
        // Two files finishing together may both see the recording complete; the panel treats it as idempotent.
        if (r && !r.inProgress && uploadStateOf(r.files) === 'uploaded') this.broadcast('recording.uploaded', r.app, { recordingId: r.recordingId, app: r.app, streamId: r.streamId, name: r.name });
      }),
    );
    this.heartbeat = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** Closes every socket (1001) and stops listening for upgrades. */
  async stop(): Promise<void> {
    this.closing = true;
    clearInterval(this.heartbeat);
    for (const r of this.removers.splice(0)) r();
    const all = [...this.clients];
    for (const c of all) c.ws.close(1001, 'server shutting down');
    await Promise.all(
      all.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.ws.readyState === c.ws.CLOSED) return resolve();
            const t = setTimeout(() => {
              c.ws.terminate();
              resolve();
            }, 1000);
            c.ws.once('close', () => {
              clearTimeout(t);
              resolve();
            });
          }),
      ),
    );
    this.wss.close();
  }

  /** Connected clients (health, tests). */
  get size(): number {
    return this.clients.size;
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (this.closing) return refuse(socket, 503, 'shutting_down', 'server is shutting down');
    const authorization = req.headers.authorization;
    const sessionId = sessionIdFrom(req.headers);
    const r = await this.o.auth.authenticate({ authorization, sessionId });
    if (!r.ok) return refuse(socket, 401, r.code, r.message);
    if (r.principal.scope === 'metrics') return refuse(socket, 403, 'insufficient_scope', 'a "metrics" token may only read /metrics');
    if (r.principal.mustChangePassword) return refuse(socket, 403, 'password_change_required', 'change the generated admin password first');
    // Cookies ride along on cross-site WebSocket handshakes too (only SameSite stops them): check where it comes from.
    if (r.principal.method === 'session' && fromAnotherSite(req.headers, req.headers.host)) {
      return refuse(socket, 403, 'origin_mismatch', `connections from ${req.headers.origin ?? 'another site'} are not accepted`);
    }
    const app = new URL(req.url ?? '/', 'http://x').searchParams.get('app') || undefined;
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const client: Client = { ws, principal: r.principal, sessionId, authorization, app, alive: true };
      this.clients.add(client);
      ws.on('pong', () => (client.alive = true));
      ws.on('close', () => this.clients.delete(client));
      ws.on('error', (err) => this.log.debug({ err: err.message }, 'events socket error'));
      // Messages from the panel are not expected; ignoring them keeps the channel one-way.
      ws.on('message', () => undefined);
      send(client, 'hello', { user: { username: r.principal.username }, app: app ?? null });
      this.log.debug({ username: r.principal.username, app, clients: this.clients.size }, 'events client connected');
    });
  }

  private broadcast(type: string, app: string, data: unknown, droppable = false, relayed = false): void {
    if (!relayed && this.o.cluster && CLUSTER_EVENTS.has(type)) this.o.cluster.publishEvent(type, app, data);
    for (const c of this.clients) {
      if (c.app && c.app !== app) continue;
      if (droppable && c.ws.bufferedAmount > SLOW_CLIENT_BYTES) continue;
      send(c, type, data);
    }
  }

  private async beat(): Promise<void> {
    for (const c of [...this.clients]) {
      if (!c.alive) {
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      c.ws.ping();
      try {
        const r = await this.o.auth.authenticate({ authorization: c.authorization, sessionId: c.sessionId });
        if (!r.ok) c.ws.close(4401, r.code);
      } catch {
        // The store is closing (shutdown); the socket is closed by stop().
      }
    }
  }
}

function send(c: Client, type: string, data: unknown): void {
  if (c.ws.readyState !== c.ws.OPEN) return;
  c.ws.send(JSON.stringify({ type, data, at: new Date().toISOString() }));
}

/** Answers an upgrade with an HTTP error and closes the socket. */
function refuse(socket: Duplex, status: number, code: string, message: string): void {
  refuseUpgrade(socket, status, code, message, status === 401 ? { 'WWW-Authenticate': 'Bearer realm="bucketcast"' } : {});
}
