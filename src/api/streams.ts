/**
 * `/api/v1/streams`: live streams of every protocol with their codecs,
 * resolution, bitrate and recording; kick a publisher; start or stop the
 * recording of a stream that stays live.
 */
import type { Request } from 'express';
import type { AppLookup } from '../apps/app-registry.js';
import type { PublisherSession } from '../ingest/types.js';
import type { ActiveRecording } from '../recording/recording-manager.js';
import { AppError } from '../errors.js';
import { param, route, type Route } from './http.js';
import { q, isoDateTime, z } from './schema.js';
import { Destination, Stream } from './answers.js';
import type { CredentialStore } from '../db/types.js';
import type { Destinations } from '../storage/destinations/index.js';
import { OutputBody, describeDestination, recordingRequest } from './destinations.js';

export interface StreamRoutesOptions {
  /** Current applications (preview format). */
  apps: AppLookup;
  /** The live publishers. */
  streams: { list(): PublisherSession[]; get(app: string, streamId: string): PublisherSession | undefined };
  /** Recordings in progress, and starting/stopping them. */
  recordings: {
    list(): ActiveRecording[];
    startFor(session: PublisherSession): void;
    stopFor(app: string, streamId: string): Promise<void>;
  };
  /** This node's id (each stream's `node`). */
  nodeId: string;
  /** The cluster (PostgreSQL store): streams live on other nodes, and kicking them there. */
  cluster?: {
    elsewhere(): Promise<Array<{ app: string; streamId: string; node: string; since: string }>>;
    kickRemote(app: string, streamId: string): Promise<unknown>;
  };
  /** Where a recording started by hand goes (its `output`, issue 18); read per request. */
  outputs?: { destinations(): Destinations | undefined; credentials(): CredentialStore | undefined };
}

const enc = encodeURIComponent;

export function streamRoutes(o: StreamRoutesOptions): Route[] {
  const view = (s: PublisherSession) => {
    const st = s.stats();
    const rec = o.recordings.list().find((r) => r.app === s.app && r.streamId === s.streamId);
    const format = o.apps.get(s.app)?.previews.format ?? 'jpg';
    return {
      app: s.app,
      streamId: s.streamId,
      node: o.nodeId,
      protocol: s.protocol,
      sessionId: s.id,
      remoteAddress: s.remoteAddress,
      startedAt: s.startedAt.toISOString(),
      durationSeconds: Math.round((Date.now() - s.startedAt.getTime()) / 100) / 10,
      video: st.videoCodec ? { codec: st.videoCodec, width: st.width ?? null, height: st.height ?? null, fps: st.fps ?? null } : null,
      audio: st.audioCodec ? { codec: st.audioCodec } : null,
      bitrate: st.bitrate,
      bytesIn: st.bytesIn,
      recording: rec ? { recordingId: rec.recordingId, name: rec.name, startedAt: rec.startedAt } : null,
      urls: {
        hls: `/${enc(s.app)}/streams/${enc(s.streamId)}.m3u8`,
        preview: `/${enc(s.app)}/previews/${enc(s.streamId)}.${format}`,
        player: `/play.html?app=${enc(s.app)}&id=${enc(s.streamId)}`,
      },
    };
  };
  const find = (req: Request) => {
    const s = o.streams.get(param(req, 'app'), param(req, 'streamId'));
    if (!s) throw new AppError('stream_not_found', `no live stream "${param(req, 'streamId')}" in "${param(req, 'app')}"`, 404);
    return s;
  };
  return [
    route({
      method: 'get',
      path: '/streams',
      query: z.object({ app: q.string('only this application') }),
      responses: { 200: StreamList },
      handler: async (_req, _res, input) => {
        const { app } = input.query();
        // Streams live on other nodes, as far as the database tells (null while it cannot be reached: this node's own still show).
        const elsewhere = o.cluster ? await o.cluster.elsewhere().catch(() => null) : [];
        return { streams: o.streams.list().filter((s) => !app || s.app === app).map(view), elsewhere: elsewhere && elsewhere.filter((s) => !app || s.app === app) };
      },
    }),
    route({ method: 'get', path: '/streams/:app/:streamId', responses: { 200: Stream }, handler: (req) => view(find(req)) }),
    route({
      method: 'post',
      path: '/streams/:app/:streamId/kick',
      responses: { 200: Kicked },
      handler: async (req) => {
        // Live on another node: that node closes it (PostgreSQL NOTIFY), 504 kick_timeout when it does not confirm in 10 s.
        if (!o.streams.get(param(req, 'app'), param(req, 'streamId')) && o.cluster) return o.cluster.kickRemote(param(req, 'app'), param(req, 'streamId'));
        const s = find(req);
        s.close('kicked');
        // The session ends once the socket is closed (at most a couple of seconds for a peer that lingers).
        await s.closed;
        return { app: s.app, streamId: s.streamId, sessionId: s.id, node: o.nodeId, ended: true };
      },
    }),
    route({
      method: 'post',
      path: '/streams/:app/:streamId/recording',
      body: OutputBody,
      optionalBody: true,
      responses: { 202: RecordingStarting },
      handler: async (req, res, input) => {
        const s = find(req);
        const { spec } = await recordingRequest(input, o.outputs?.credentials());
        const book = o.outputs?.destinations()?.book;
        if (spec && !book) throw new AppError('storage_unavailable', 'storage is not running: no output can be taken', 503);
        // Taken before the start: the recording binds it when it starts (a recording started by hand without one goes to the app's bucket, not a rule's).
        book?.setPending(s.app, s.streamId, spec, s.id);
        try {
          o.recordings.startFor(s);
        } catch (err) {
          book?.clearPending(s.app, s.streamId);
          throw err;
        }
        // It starts at the stream's next keyframe; `recording.started` (events channel) says when.
        res.status(202);
        const segment = o.apps.get(s.app)?.recordSegmentSeconds ?? 0;
        const note = spec?.kind === 'presigned-put' && segment > 0 ? `one object per pre-signed URL: a recording longer than recordSegmentSeconds (${segment} s) makes several MP4 parts, and only a one-part recording is delivered` : undefined;
        return { app: s.app, streamId: s.streamId, recording: 'starting', output: spec ? describeDestination(spec) : null, ...(note ? { note } : {}) };
      },
    }),
    route({
      method: 'delete',
      path: '/streams/:app/:streamId/recording',
      responses: { 200: z.object({ app: z.string(), streamId: z.string(), recording: z.literal('stopped'), recordingId: z.string().nullable() }) },
      handler: async (req) => {
        const s = find(req);
        const rec = o.recordings.list().find((r) => r.app === s.app && r.streamId === s.streamId);
        await o.recordings.stopFor(s.app, s.streamId);
        return { app: s.app, streamId: s.streamId, recording: 'stopped', recordingId: rec?.recordingId ?? null };
      },
    }),
  ];
}

const iso = () => isoDateTime();
const StreamList = z.object({
  streams: z.array(Stream),
  elsewhere: z.array(z.object({ app: z.string(), streamId: z.string(), node: z.string().describe('the node it is live on'), since: iso() })).nullable(),
});
const Kicked = z.object({ app: z.string(), streamId: z.string(), sessionId: z.string().nullable(), node: z.string().describe('the node it was live on'), ended: z.boolean() });
const RecordingStarting = z.object({
  app: z.string(),
  streamId: z.string(),
  recording: z.literal('starting'),
  output: Destination.nullable(),
  note: z.string().describe('a caveat of the output (one object per pre-signed URL)').optional(),
});

const Node = z.object({
  nodeId: z.string(),
  internalUrl: z.string().describe('where the other nodes reach its HTTP port (absent when unknown)').optional(),
  version: z.string().nullable(),
  startedAt: iso(),
  lastSeenAt: iso(),
  liveStreams: z.int().describe('publishers live on it at its last heartbeat'),
  alive: z.boolean(),
  stopped: z.boolean().describe('it stopped cleanly'),
  self: z.boolean().describe('the node that answered'),
});

/** `GET /api/v1/nodes`: every node sharing the database with its health (only this one on SQLite). */
export function nodeRoutes(o: {
  nodeId: string;
  liveStreams: () => number;
  cluster?: { list(): Promise<unknown[]> };
}): Route[] {
  const startedAt = new Date().toISOString();
  return [
    route({
      method: 'get',
      path: '/nodes',
      responses: { 200: z.object({ nodes: z.array(Node) }) },
      handler: async () => {
        if (o.cluster) return { nodes: await o.cluster.list() };
        const now = new Date().toISOString();
        return { nodes: [{ nodeId: o.nodeId, version: null, startedAt, lastSeenAt: now, liveStreams: o.liveStreams(), alive: true, stopped: false, self: true }] };
      },
    }),
  ];
}
