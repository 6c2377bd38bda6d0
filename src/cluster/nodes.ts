/**
 * The nodes of a cluster (several bucketcast nodes on one PostgreSQL), as
 * each node sees them:
 *
 * - **Heartbeat**: every `HEARTBEAT_MS` a node upserts its row of
 *   `cluster_nodes` (where its peers reach it, how many publishers it has);
 *   a node not seen for `NODE_LAPSE_MS` is shown dead. A clean stop marks the
 *   row stopped.
 * - **Files on a peer's disk**: a recording URL whose file the catalog says
 *   is still only on another node's disk (not uploaded yet) is fetched from
 *   that node: a HEAD with a 1.5 s timeout, then the GET streamed through, with
 *   `X-Bucketcast-Node` naming the node that holds it. Requests between nodes
 *   carry `X-Bucketcast-Peer: 1` and are never sent on again (no loops). When
 *   the peer does not answer, the request goes on as if the file were nowhere
 *   (forwarding to the bucket, or 404).
 * - **Live events**: the stream and recording events of each node reach the
 *   events channel (panel) of every node, with the node they happened on.
 * - **Kick relay**: kicking a publisher that is live on another node sends a
 *   NOTIFY to that node, which closes it and answers; no answer within
 *   `KICK_TIMEOUT_MS` is a 504 `kick_timeout`.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { AppError, errorMessage } from '../errors.js';
import { PACKAGE_VERSION } from '../package-root.js';
import type { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../log/logger.js';
import type { MissingFile } from '../http/media-routes.js';
import type { ClusterNode, ClusterNodeStore, RecordingCatalog, RecordingNameStore, StreamClaimStore } from '../db/types.js';

export const HEARTBEAT_MS = 2000;
/** A node not seen for this long is shown dead. */
export const NODE_LAPSE_MS = 10_000;
export const PEER_HEAD_TIMEOUT_MS = 1500;
export const KICK_TIMEOUT_MS = 10_000;
/** The one channel nodes message each other on (kicks and their answers). */
export const CLUSTER_CHANNEL = 'bucketcast_cluster';
export const PEER_HEADER = 'x-bucketcast-peer';
export const NODE_HEADER = 'X-Bucketcast-Node';

/** This node's URL for its peers: `server.internalUrl`, else from its listen address and port. */
export function defaultInternalUrl(host: string, port: number): string {
  const concrete = host && host !== '0.0.0.0' && host !== '::' && host !== '[::]';
  const h = concrete ? host : os.hostname();
  return `http://${h.includes(':') && !h.startsWith('[') ? `[${h}]` : h}:${port}`;
}

/** NOTIFY payloads must stay under 8000 bytes: a bigger event goes without its file and part lists. */
const MAX_PAYLOAD = 7500;

type Message =
  | { type: 'event'; to: '*'; from: string; name: string; app: string; data: unknown }
  | { type: 'kick'; id: string; to: string; from: string; app: string; streamId: string }
  | { type: 'kicked'; id: string; to: string; from: string; ok: boolean; sessionId?: string };

export interface KickResult {
  app: string;
  streamId: string;
  sessionId: string | null;
  node: string;
  ended: true;
}

export class ClusterNodes implements Lifecycle {
  private timer?: NodeJS.Timeout;
  private listening?: { close(): Promise<void> };
  private readonly startedAt = new Date().toISOString();
  private readonly waiting = new Map<string, (m: Extract<Message, { type: 'kicked' }>) => void>();
  private urls = new Map<string, string>();
  private readonly eventListeners = new Set<(type: string, app: string, data: unknown, node: string) => void>();
  private internalUrl?: string;
  private readonly log: Logger;

  constructor(
    private readonly o: {
      nodes: ClusterNodeStore;
      claims: StreamClaimStore;
      catalog: RecordingCatalog;
      /** Which node reserved a recording name (files of a recording in progress are not cataloged yet). */
      names: RecordingNameStore;
      nodeId: string;
      /** Live publishers here (heartbeat). */
      liveStreams: () => number;
      /** Closes a publisher live here; resolves with its session id once it ended, undefined when not live here. */
      kickLocal: (app: string, streamId: string) => Promise<string | undefined>;
      log: Logger;
      heartbeatMs?: number;
    },
  ) {
    this.log = o.log.child({ module: 'cluster', nodeId: o.nodeId });
  }

  get nodeId(): string {
    return this.o.nodeId;
  }

  /** Starts the heartbeat once this node's HTTP port is known. */
  async start(internalUrl?: string): Promise<void> {
    this.internalUrl = internalUrl;
    this.listening = await this.o.nodes.listen(
      CLUSTER_CHANNEL,
      (payload) => payload && this.onMessage(payload),
      (err) => this.log.warn({ err }, 'lost the database connection that carries messages between nodes; reconnecting'),
    );
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.o.heartbeatMs ?? HEARTBEAT_MS);
    this.timer.unref();
    this.log.info({ internalUrl }, 'cluster node registered');
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.o.nodes.stopped(this.o.nodeId).catch((err) => this.log.warn({ err: errorMessage(err) }, 'could not mark this node stopped; it lapses on its own'));
    await this.listening?.close();
  }

  private beatFailing = false;

  private async beat(): Promise<void> {
    try {
      await this.o.nodes.heartbeat({ nodeId: this.o.nodeId, internalUrl: this.internalUrl, version: PACKAGE_VERSION, startedAt: this.startedAt, liveStreams: this.o.liveStreams() });
      if (this.beatFailing) this.log.info('cluster heartbeat sent again');
      this.beatFailing = false;
    } catch (err) {
      // Once per outage, not every 2 s.
      if (!this.beatFailing) this.log.warn({ err: errorMessage(err) }, 'could not send the cluster heartbeat');
      this.beatFailing = true;
    }
  }

  /** Every node with its health (`self` marks this one). */
  async list(): Promise<Array<ClusterNode & { self: boolean }>> {
    const nodes = await this.o.nodes.list(NODE_LAPSE_MS);
    this.urls = new Map(nodes.filter((n) => n.internalUrl).map((n) => [n.nodeId, n.internalUrl!]));
    return nodes.map((n) => ({ ...n, self: n.nodeId === this.o.nodeId }));
  }

  /** Streams live on other nodes (their publish claims). */
  async elsewhere(): Promise<Array<{ app: string; streamId: string; node: string; since: string }>> {
    const claims = await this.o.claims.list();
    return claims.filter((c) => c.nodeId !== this.o.nodeId).map((c) => ({ app: c.app, streamId: c.streamId, node: c.nodeId, since: c.claimedAt }));
  }

  /** Kicks a publisher live on another node (through its claim); 404 when no node holds it, 504 when its node does not answer. */
  async kickRemote(app: string, streamId: string): Promise<KickResult> {
    const holder = (await this.o.claims.list()).find((c) => c.app === app && c.streamId === streamId && c.nodeId !== this.o.nodeId);
    if (!holder) throw new AppError('stream_not_found', `no live stream "${streamId}" in "${app}"`, 404);
    const id = randomUUID();
    const answered = new Promise<Extract<Message, { type: 'kicked' }>>((resolve) => this.waiting.set(id, resolve));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), KICK_TIMEOUT_MS)));
    try {
      await this.send({ type: 'kick', id, to: holder.nodeId, from: this.o.nodeId, app, streamId });
      const r = await Promise.race([answered, timeout]);
      if (!r) throw new AppError('kick_timeout', `node ${holder.nodeId} did not confirm the kick within ${KICK_TIMEOUT_MS / 1000} s`, 504);
      if (!r.ok) throw new AppError('stream_not_found', `no live stream "${streamId}" in "${app}" (node ${holder.nodeId} no longer has it)`, 404);
      return { app, streamId, sessionId: r.sessionId ?? null, node: holder.nodeId, ended: true };
    } finally {
      clearTimeout(timer);
      this.waiting.delete(id);
    }
  }

  /** Sends one of this node's live events to the other nodes (the panel's events channel); best effort. */
  publishEvent(name: string, app: string, data: unknown): void {
    let m: Message = { type: 'event', to: '*', from: this.o.nodeId, name, app, data };
    if (Buffer.byteLength(JSON.stringify(m)) > MAX_PAYLOAD && data && typeof data === 'object') {
      const { files: _f, parts: _p, ...rest } = data as Record<string, unknown>;
      m = { ...m, data: { ...rest, truncated: true } };
      if (Buffer.byteLength(JSON.stringify(m)) > MAX_PAYLOAD) return;
    }
    this.send(m).catch(() => undefined);
  }

  /** Live events of the other nodes. */
  onEvent(fn: (type: string, app: string, data: unknown, node: string) => void): () => void {
    this.eventListeners.add(fn);
    return () => this.eventListeners.delete(fn);
  }

  private async send(m: Message): Promise<void> {
    await this.o.nodes.notify(CLUSTER_CHANNEL, JSON.stringify(m));
  }

  private onMessage(payload: string): void {
    let m: Message;
    try {
      m = JSON.parse(payload) as Message;
    } catch {
      return;
    }
    if (m.type === 'event') {
      if (m.from !== this.o.nodeId) for (const fn of this.eventListeners) fn(m.name, m.app, m.data, m.from);
      return;
    }
    if (m.to !== this.o.nodeId) return;
    if (m.type === 'kicked') return void this.waiting.get(m.id)?.(m);
    if (m.type !== 'kick') return;
    this.log.info({ app: m.app, streamId: m.streamId, by: m.from }, 'kick relayed from another node');
    void this.o
      .kickLocal(m.app, m.streamId)
      .then((sessionId) => this.send({ type: 'kicked', id: m.id, to: m.from, from: this.o.nodeId, ok: sessionId !== undefined, sessionId }))
      .catch((err) => this.log.warn({ err: errorMessage(err) }, 'could not answer a relayed kick'));
  }

  /**
   * Wraps the media routes' `missing` hook: a file the catalog says is on
   * another node's disk and not uploaded yet is fetched from that node.
   */
  peerFiles(next: (req: IncomingMessage, res: ServerResponse, file: MissingFile) => void, inBucket: (file: MissingFile) => boolean = () => false) {
    return (req: IncomingMessage, res: ServerResponse, file: MissingFile): void => {
      // A request from a peer is answered from here only (no loops); a file known to be in the bucket goes there at once.
      if (req.headers[PEER_HEADER] === '1' || (req.method !== 'GET' && req.method !== 'HEAD') || inBucket(file)) return next(req, res, file);
      this.fromPeer(req, res, file).then(
        (served) => served || next(req, res, file),
        (err) => {
          this.log.warn({ app: file.app, file: `${file.folder}/${file.file}`, err: errorMessage(err) }, 'could not fetch a file from the node that holds it');
          if (!res.headersSent) next(req, res, file);
          else res.destroy();
        },
      );
    };
  }

  /**
   * The node whose disk holds a file not on this one: the catalog's `origin_node` while the file is not
   * uploaded; for a stream live elsewhere (not cataloged yet) its live playlist's publishing node, or the node
   * that reserved the recording name its segments and previews start with.
   */
  private async holderOf(file: MissingFile): Promise<string | undefined> {
    const f = await this.o.catalog.findFile(file.app, file.file);
    if (f) return f.state === 'uploaded' || f.localDeletedAt || f.localPath === null ? undefined : f.originNode;
    if (file.folder === 'streams' && file.file.endsWith('.m3u8')) {
      const streamId = file.file.slice(0, -'.m3u8'.length);
      const claim = (await this.o.claims.list()).find((c) => c.app === file.app && c.streamId === streamId);
      if (claim) return claim.nodeId;
    }
    const name = RECORDING_NAME.exec(file.file)?.[1];
    return name ? this.o.names.nodeOf(file.app, name) : undefined;
  }

  private async fromPeer(req: IncomingMessage, res: ServerResponse, file: MissingFile): Promise<boolean> {
    const holder = await this.holderOf(file).catch(() => undefined);
    if (!holder || holder === this.o.nodeId) return false;
    let base = this.urls.get(holder);
    if (!base) {
      await this.list().catch(() => undefined);
      base = this.urls.get(holder);
    }
    if (!base) return false;
    const target = new URL(req.url ?? '/', base);
    const head = await peerRequest(target, 'HEAD', {}, PEER_HEAD_TIMEOUT_MS).catch(() => undefined);
    if (!head) return false;
    head.resume();
    if (head.statusCode !== 200) return false;
    if (req.method === 'HEAD') {
      res.writeHead(200, { ...passHeaders(head), [NODE_HEADER]: holder });
      res.end();
      return true;
    }
    const range = req.headers.range;
    const up = await peerRequest(target, 'GET', range ? { range } : {}, 0);
    res.writeHead(up.statusCode ?? 502, { ...passHeaders(up), [NODE_HEADER]: holder });
    up.pipe(res);
    res.once('close', () => up.destroy());
    return true;
  }
}

/** `<streamId>_<yyyymmddThhmmssZ>[-suffix]` at the start of a recording's file name (segments: `_00001.ts`, parts: `_p0001.mp4`, previews: `_0001.jpg`). */
export const RECORDING_NAME = /^(.+_\d{8}T\d{6}Z(?:-[\w.-]+?)?)(?:_p?\d+)?\.[a-z0-9]+$/i;

const PASS = ['content-type', 'content-length', 'content-range', 'accept-ranges', 'cache-control', 'etag', 'last-modified'];
function passHeaders(r: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of PASS) {
    const v = r.headers[h];
    if (typeof v === 'string') out[h] = v;
  }
  return out;
}

/** One request to a peer; `timeoutMs` (0: none) bounds the wait for its answer's headers. */
function peerRequest(url: URL, method: 'HEAD' | 'GET', headers: Record<string, string>, timeoutMs: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.request(url, { method, headers: { ...headers, 'X-Bucketcast-Peer': '1' }, agent: false }, resolve);
    req.once('error', reject);
    if (timeoutMs > 0) {
      const t = setTimeout(() => req.destroy(new Error(`the peer did not answer within ${timeoutMs} ms`)), timeoutMs);
      req.once('response', () => clearTimeout(t));
      req.once('close', () => clearTimeout(t));
    }
    req.end();
  });
}
