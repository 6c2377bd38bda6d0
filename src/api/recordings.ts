/**
 * `/api/v1/recordings`: recordings from the catalog, newest first (one still
 * recorded in parts is listed with `inProgress` and the parts so far),
 * filtered by app, stream, upload state and wall-clock time (`from`/`to`:
 * recordings that overlap the range), each with its parts, paged with
 * `limit` + `pageToken`; one recording with its files (state, attempts, last
 * error, bucket and key of each) and stable URLs; retry its failed uploads;
 * delete it from the bucket, local disk and catalog. Recordings in progress
 * are on `/api/v1/streams` (their `recording`).
 */
import type { Request } from 'express';
import type { FileKind } from '../events/types.js';
import type { FileRecord, PartRecord, RecordingCatalog, RecordingRecord, RecordingSummary, RecordingUploadState, RecordingWithFiles } from '../db/types.js';
import type { RecordingDeletion } from '../storage/deletion/recording-delete.js';
import { uploadStateOf } from '../db/upload-state.js';
import { AppError } from '../errors.js';
import { param, route, type Route } from './http.js';
import { q, z } from './schema.js';
import { Recording, RecordingDeletion as RecordingDeletionAnswer, RecordingSummary as RecordingSummaryAnswer } from './answers.js';
import type { UploadProgress } from './upload-progress.js';

export interface RecordingRoutesOptions {
  /** The recording catalog. */
  catalog: RecordingCatalog;
  /** Retries and deletion (bucket, disk, catalog). */
  storage: {
    retry(filter: { recordingId: string }): Promise<number>;
    deleteRecording(recordingId: string, opts: { keepObjects?: boolean }): Promise<RecordingDeletion>;
  };
  /** Bytes sent of files being uploaded. */
  progress: UploadProgress;
  /** This node's id: the `node` of recordings the store does not name a node for (SQLite). */
  nodeId: string;
}

const STATES = ['local', 'queued', 'uploading', 'uploaded', 'failed'] as const satisfies readonly RecordingUploadState[];
const PREVIEW_KINDS: ReadonlySet<FileKind> = new Set(['preview', 'poster']);
const enc = encodeURIComponent;

/** The stable URL a recorded file is served at (from disk, or forwarded to the bucket). */
export function fileUrl(app: string, f: { kind: FileKind; name: string }): string {
  return `/${enc(app)}/${PREVIEW_KINDS.has(f.kind) ? 'previews' : 'streams'}/${enc(f.name)}`;
}

/** The recording's playback URLs: main file (MP4, else WebM), HLS playlist, poster, and the player page. */
export function recordingUrls(r: { app: string; name: string }, files: ReadonlyArray<{ kind: FileKind; name: string }>) {
  const url = (...kinds: FileKind[]) => {
    const f = kinds.map((k) => files.find((x) => x.kind === k)).find(Boolean);
    return f ? fileUrl(r.app, f) : null;
  };
  return { mp4: url('mp4', 'webm'), hls: url('hls-playlist'), poster: url('poster'), player: `/play.html?app=${enc(r.app)}&name=${enc(r.name)}` };
}

export function recordingRoutes(o: RecordingRoutesOptions): Route[] {
  // One catalog read per listed recording (small, indexed) gives exact URLs.
  // What the list and the single answer share. An audio-only recording has no video (a video-only one no audio):
  // null, as the answer schema says, not left out.
  const common = <R extends RecordingRecord>(r: R, files: FileRecord[]) => ({
    ...r,
    video: r.video ?? null,
    audio: r.audio ?? null,
    node: r.node ?? o.nodeId,
    inProgress: r.inProgress ?? false,
    urls: recordingUrls(r, files),
    parts: partsView(r, r.parts ?? [], files),
  });
  const summary = async (r: RecordingSummary) => common(r, (await o.catalog.getRecording(r.recordingId))?.files ?? []);
  const file = (r: RecordingWithFiles, f: FileRecord) => ({
    id: f.id,
    kind: f.kind,
    name: f.name,
    size: f.size,
    url: fileUrl(r.app, f),
    state: f.state,
    local: f.localPath !== null && !f.localDeletedAt,
    progress: f.state === 'uploading' ? (o.progress.of(r.recordingId, f.name) ?? null) : null,
    bucket: f.bucket ?? null,
    key: f.key ?? null,
    objectUrl: f.url ?? null,
    sha256: f.sha256 ?? null,
    etag: f.etag ?? null,
    verifiedBy: f.verifiedBy ?? null,
    attempts: f.attempts,
    lastError: f.lastError ?? null,
    errorCode: f.errorCode ?? null,
    errorClass: f.errorClass ?? null,
    nextAttemptAt: f.state === 'queued' && f.nextAttemptAt ? new Date(f.nextAttemptAt).toISOString() : null,
    uploadedAt: f.uploadedAt ?? null,
    localDeletedAt: f.localDeletedAt ?? null,
  });
  const find = async (req: Request) => {
    const r = await o.catalog.getRecording(param(req, 'id'));
    if (!r) throw new AppError('recording_not_found', `no recording "${param(req, 'id')}"`, 404);
    return r;
  };
  return [
    route({
      method: 'get',
      path: '/recordings',
      query: RecordingsQuery,
      responses: { 200: z.object({ recordings: z.array(RecordingSummaryAnswer), total: z.int().describe('matching the filters'), nextPageToken: z.string().nullable() }) },
      handler: async (_req, _res, input) => {
        const qs = input.query();
        const filter = {
          app: qs.app || undefined,
          streamId: qs.streamId || undefined,
          uploadState: qs.state,
          // Wall clock: recordings that overlap [from, to).
          from: qs.from,
          to: qs.to,
        };
        const limit = qs.limit;
        const after = qs.pageToken ? decodePageToken(qs.pageToken) : undefined;
        const rows = await o.catalog.listRecordings({ ...filter, limit: limit + 1, after });
        const page = rows.slice(0, limit);
        const last = page[page.length - 1];
        return {
          recordings: await Promise.all(page.map(summary)),
          total: await o.catalog.countRecordings(filter),
          nextPageToken: rows.length > limit ? encodePageToken(last) : null,
        };
      },
    }),
    route({
      method: 'get',
      path: '/recordings/:id',
      responses: { 200: Recording },
      handler: async (req) => {
        const r = await find(req);
        const { files, ...rec } = r;
        const counts = Object.fromEntries(STATES.map((s) => [s, files.filter((f) => f.state === s).length]));
        return { ...common(rec, files), uploadState: uploadStateOf(files), fileCounts: counts, files: files.map((f) => file(r, f)) };
      },
    }),
    route({
      method: 'post',
      path: '/recordings/:id/retry',
      responses: { 200: z.object({ recordingId: z.string(), requeued: z.int() }) },
      handler: async (req) => {
        const r = await find(req);
        return { recordingId: r.recordingId, requeued: await o.storage.retry({ recordingId: r.recordingId }) };
      },
    }),
    route({
      method: 'delete',
      path: '/recordings/:id',
      query: z.object({ keepObjects: q.bool('true: leave the bucket objects') }),
      responses: { 200: RecordingDeletionAnswer },
      handler: async (req, _res, input) => {
        // Its next part would bring it back: a recording is deleted once its stream is no longer recorded.
        if ((await o.catalog.getRecording(param(req, 'id')))?.inProgress) throw new AppError('recording_in_progress', 'the recording is still being recorded; stop recording it first', 409);
        return o.storage.deleteRecording(param(req, 'id'), { keepObjects: input.query().keepObjects });
      },
    }),
  ];
}

/** `GET /recordings`'s filters and page. */
export const RecordingsQuery = z.object({
  app: q.string('application'),
  streamId: q.string('stream id'),
  state: q.oneOf(STATES, 'upload state'),
  from: q.date('wall clock: recordings that end after it (ISO 8601 date or date-time with zone)'),
  to: q.date('wall clock: recordings that start before it (ISO 8601)'),
  limit: q.int(1, 500, 50),
  pageToken: q.string('nextPageToken of the previous page'),
});

/** A recording's parts as the API shows them: wall-clock span, stable URL, and upload state of each. */
function partsView(r: { app: string }, parts: PartRecord[], files: FileRecord[]) {
  const byName = new Map(files.map((f) => [f.name, f]));
  return parts.map((p) => {
    const f = byName.get(p.name);
    return {
      part: p.part,
      name: p.name,
      startedAt: p.startedAt,
      endedAt: p.endedAt,
      durationSeconds: p.durationSeconds,
      offsetSeconds: p.offsetSeconds,
      size: p.size,
      url: fileUrl(r.app, { kind: 'mp4', name: p.name }),
      state: f?.state ?? 'local',
      local: !!f && f.localPath !== null && !f.localDeletedAt,
      key: f?.key ?? null,
    };
  });
}

function encodePageToken(r: RecordingRecord): string {
  return Buffer.from(JSON.stringify([r.startedAt, r.recordingId])).toString('base64url');
}

function decodePageToken(token: string): { startedAt: string; recordingId: string } {
  try {
    const [startedAt, recordingId] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown[];
    if (typeof startedAt === 'string' && typeof recordingId === 'string' && !Number.isNaN(Date.parse(startedAt))) return { startedAt, recordingId };
  } catch {
    // fall through to the error below
  }
  throw new AppError('invalid_parameter', 'query parameter pageToken: not a page token from this API (use nextPageToken as given)', 400);
}
