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
import { param, query, route, type Route } from './http.js';

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
    route('get', '/streams', async (req) => {
      const app = query.string(req, 'app');
      // Streams live on other nodes, as far as the database tells (null while it cannot be reached: this node's own still show).
      const elsewhere = o.cluster ? await o.cluster.elsewhere().catch(() => null) : [];
      return { streams: o.streams.list().filter((s) => !app || s.app === app).map(view), elsewhere: elsewhere && elsewhere.filter((s) => !app || s.app === app) };
    }),
    route('get', '/streams/:app/:streamId', (req) => view(find(req))),
    route('post', '/streams/:app/:streamId/kick', async (req) => {
      // Live on another node: that node closes it (PostgreSQL NOTIFY), 504 kick_timeout when it does not confirm in 10 s.
      if (!o.streams.get(param(req, 'app'), param(req, 'streamId')) && o.cluster) return o.cluster.kickRemote(param(req, 'app'), param(req, 'streamId'));
      const s = find(req);
      s.close('kicked');
      // The session ends once the socket is closed (at most a couple of seconds for a peer that lingers).
      await s.closed;
      return { app: s.app, streamId: s.streamId, sessionId: s.id, node: o.nodeId, ended: true };
    }),
    route('post', '/streams/:app/:streamId/recording', (req, res) => {
      const s = find(req);
      o.recordings.startFor(s);
      // It starts at the stream's next keyframe; `recording.started` (events channel) says when.
      res.status(202);
      return { app: s.app, streamId: s.streamId, recording: 'starting' };
    }),
    route('delete', '/streams/:app/:streamId/recording', async (req) => {
      const s = find(req);
      const rec = o.recordings.list().find((r) => r.app === s.app && r.streamId === s.streamId);
      await o.recordings.stopFor(s.app, s.streamId);
      return { app: s.app, streamId: s.streamId, recording: 'stopped', recordingId: rec?.recordingId ?? null };
    }),
  ];
}

/** `GET /api/v1/nodes`: every node sharing the database with its health (only this one on SQLite). */
export function nodeRoutes(o: {
  nodeId: string;
  liveStreams: () => number;
  cluster?: { list(): Promise<unknown[]> };
}): Route[] {
  const startedAt = new Date().toISOString();
  return [
    route('get', '/nodes', async () => {
      if (o.cluster) return { nodes: await o.cluster.list() };
      const now = new Date().toISOString();
      return { nodes: [{ nodeId: o.nodeId, version: null, startedAt, lastSeenAt: now, liveStreams: o.liveStreams(), alive: true, stopped: false, self: true }] };
    }),
  ];
}
