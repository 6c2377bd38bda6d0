/**
 * The catalog's recording parts on PostgreSQL (issue 13, recordings in
 * parts; the SQLite twin is src/db/sqlite/parts.ts on that branch): each
 * MP4 part's wall-clock span, joined to its file (`recording_files`, same
 * recording and name) for where it is. Parts of a recording in progress are
 * added as they close. The record shapes are declared here, as issue 13's
 * store interface declares them, so this store implements them before that
 * interface lands.
 */
import type pg from 'pg';
import type { FileState, NewFile, RecordingRecord } from '../types.js';
import { inTransaction, type Queryable } from './database.js';

/** A closed part of a recording, as the recorder announces it (issue 13's `RecordedPart`). */
export interface RecordedPart {
  part: number;
  name: string;
  path: string;
  size: number;
  startedAt: string;
  endedAt: string;
  durationSeconds: number;
  offsetSeconds: number;
}

/** A recording's MP4 part in the catalog. */
export interface PartRecord extends Omit<RecordedPart, 'path'> {
  recordingId: string;
  app: string;
  streamId: string;
}

/** A part with where its file is now, for time-range playback. */
export interface PartLocation extends PartRecord {
  localPath?: string;
  state: FileState;
  bucket?: string;
  key?: string;
}

/** A recording as the catalog's part methods take it. */
export type LiveRecording = Omit<RecordingRecord, 'createdAt'>;

interface PartRow {
  recording_id: string;
  part: number;
  app: string;
  stream_id: string;
  name: string;
  started_at: string;
  ended_at: string;
  duration_seconds: number;
  offset_seconds: number;
  size: number;
}

export function toPart(r: PartRow): PartRecord {
  return {
    recordingId: r.recording_id,
    app: r.app,
    streamId: r.stream_id,
    part: r.part,
    name: r.name,
    size: r.size,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    durationSeconds: r.duration_seconds,
    offsetSeconds: r.offset_seconds,
  };
}

/** Inserts parts of a recording in one statement; parts already known are left as they are. */
export async function insertParts(db: Queryable, r: { recordingId: string; app: string; streamId: string }, parts: RecordedPart[]): Promise<void> {
  if (parts.length === 0) return;
  await db.query(
    `INSERT INTO recording_parts (recording_id, part, app, stream_id, name, started_at, ended_at, duration_seconds, offset_seconds, size)
     SELECT $1, p.part, $2, $3, p.name, p.started_at, p.ended_at, p.duration_seconds, p.offset_seconds, p.size
     FROM unnest($4::int[], $5::text[], $6::text[], $7::text[], $8::float8[], $9::float8[], $10::bigint[])
       AS p (part, name, started_at, ended_at, duration_seconds, offset_seconds, size)
     ON CONFLICT (recording_id, part) DO NOTHING`,
    [
      r.recordingId,
      r.app,
      r.streamId,
      parts.map((p) => p.part),
      parts.map((p) => p.name),
      parts.map((p) => new Date(p.startedAt).toISOString()),
      parts.map((p) => new Date(p.endedAt).toISOString()),
      parts.map((p) => p.durationSeconds),
      parts.map((p) => p.offsetSeconds),
      parts.map((p) => p.size),
    ],
  );
}

/** Creates a recording in progress unless the catalog knows it. */
async function ensureLive(db: Queryable, r: LiveRecording, now: string): Promise<void> {
  await db.query(
    `INSERT INTO recordings (id, app, stream_id, protocol, name, started_at, ended_at, duration_seconds, size_bytes, video, audio, recovered, created_at, in_progress)
     VALUES ($1, $2, $3, $4, $5, $6, $6, 0, 0, $7, $8, false, $9, true)
     ON CONFLICT (id) DO NOTHING`,
    [r.recordingId, r.app, r.streamId, r.protocol, r.name, r.startedAt, r.video ? JSON.stringify(r.video) : null, r.audio ? JSON.stringify(r.audio) : null, now],
  );
}

async function insertFiles(db: Queryable, r: { recordingId: string; app: string }, files: NewFile[], now: string): Promise<void> {
  if (files.length === 0) return;
  await db.query(
    `INSERT INTO recording_files (recording_id, app, kind, name, local_path, size, state, created_at, updated_at)
     SELECT $1, $2, f.kind, f.name, f.local_path, f.size, 'local', $3, $3
     FROM unnest($4::text[], $5::text[], $6::text[], $7::bigint[]) WITH ORDINALITY AS f (kind, name, local_path, size, n)
     ORDER BY f.n
     ON CONFLICT (recording_id, name) DO NOTHING`,
    [r.recordingId, r.app, now, files.map((f) => f.kind), files.map((f) => f.name), files.map((f) => f.localPath), files.map((f) => f.size)],
  );
}

export { insertFiles };

/** See issue 13's `RecordingCatalog.addLiveFiles`. */
export async function addLiveFiles(pool: pg.Pool, r: LiveRecording, files: NewFile[]): Promise<void> {
  const now = new Date().toISOString();
  await inTransaction(pool, async (c) => {
    await ensureLive(c, r, now);
    await insertFiles(c, r, files, now);
  });
}

/** See issue 13's `RecordingCatalog.relocate`. */
export async function relocate(pool: pg.Pool, recordingId: string, name: string, localPath: string): Promise<boolean> {
  const r = await pool.query(
    `UPDATE recording_files SET local_path = $1, local_deleted_at = NULL, updated_at = $2 WHERE recording_id = $3 AND name = $4 AND state = 'uploaded'`,
    [localPath, new Date().toISOString(), recordingId, name],
  );
  return (r.rowCount ?? 0) === 1;
}

/** See issue 13's `UploadQueue.requeue`. */
export async function requeue(pool: pg.Pool, recordingId: string, name: string, localPath: string, size: number): Promise<boolean> {
  const now = Date.now();
  const r = await pool.query(
    `UPDATE recording_files SET state = 'queued', local_path = $1, size = $2, next_attempt_at = $3, attempts = 0, last_error = NULL,
       error_code = NULL, error_class = NULL, local_deleted_at = NULL, updated_at = $4
     WHERE recording_id = $5 AND name = $6 AND state IN ('local', 'queued', 'uploaded')`,
    [localPath, size, now, new Date(now).toISOString(), recordingId, name],
  );
  return (r.rowCount ?? 0) === 1;
}

/** See issue 13's `RecordingCatalog.addPart`. */
export async function addPart(pool: pg.Pool, r: LiveRecording, part: RecordedPart, file: NewFile): Promise<void> {
  const now = new Date().toISOString();
  await inTransaction(pool, async (c) => {
    await ensureLive(c, r, now);
    const known = await c.query('SELECT 1 FROM recording_parts WHERE recording_id = $1 AND part = $2', [r.recordingId, part.part]);
    if (known.rows.length) return;
    await insertParts(c, r, [part]);
    await insertFiles(c, r, [file], now);
    await c.query(
      `UPDATE recordings SET ended_at = GREATEST(ended_at, $2), duration_seconds = GREATEST(duration_seconds, $3), size_bytes = size_bytes + $4
       WHERE id = $1 AND in_progress`,
      [r.recordingId, new Date(part.endedAt).toISOString(), part.offsetSeconds + part.durationSeconds, part.size],
    );
  });
}

export async function listParts(db: Queryable, recordingId: string): Promise<PartRecord[]> {
  return (await db.query<PartRow>('SELECT * FROM recording_parts WHERE recording_id = $1 ORDER BY part', [recordingId])).rows.map(toPart);
}

/** Parts of several recordings at once, by recording id (listings). */
export async function partsOf(db: Queryable, recordingIds: string[]): Promise<Map<string, PartRecord[]>> {
  const out = new Map<string, PartRecord[]>();
  if (recordingIds.length === 0) return out;
  const rows = (await db.query<PartRow>('SELECT * FROM recording_parts WHERE recording_id = ANY($1::text[]) ORDER BY recording_id, part', [recordingIds])).rows;
  for (const r of rows) {
    const list = out.get(r.recording_id) ?? [];
    list.push(toPart(r));
    out.set(r.recording_id, list);
  }
  return out;
}

export async function partsBetween(db: Queryable, app: string, streamId: string, from: string, to: string): Promise<PartLocation[]> {
  const rows = (
    await db.query<PartRow & { f_local_path: string | null; f_local_deleted_at: string | null; f_state: FileState; f_bucket: string | null; f_key: string | null }>(
      `SELECT p.*, f.local_path AS f_local_path, f.local_deleted_at AS f_local_deleted_at, f.state AS f_state, f.bucket AS f_bucket, f.object_key AS f_key
       FROM recording_parts p JOIN recording_files f ON f.recording_id = p.recording_id AND f.name = p.name
       WHERE p.app = $1 AND p.stream_id = $2 AND p.started_at < $4 AND p.ended_at > $3
       ORDER BY p.started_at, p.recording_id, p.part`,
      [app, streamId, new Date(from).toISOString(), new Date(to).toISOString()],
    )
  ).rows;
  return rows.map((r) => ({
    ...toPart(r),
    localPath: r.f_local_path && !r.f_local_deleted_at ? r.f_local_path : undefined,
    state: r.f_state,
    bucket: r.f_bucket ?? undefined,
    key: r.f_key ?? undefined,
  }));
}

export async function partBacklog(db: Queryable): Promise<{ parts: number; oldestEndedAt?: string; uploaded: number }> {
  const row = (
    await db.query<{ waiting: number; uploaded: number; oldest: string | null }>(
      `SELECT COUNT(*) FILTER (WHERE f.state IN ('queued', 'uploading', 'failed')) AS waiting, COUNT(*) FILTER (WHERE f.state = 'uploaded') AS uploaded,
         MIN(p.ended_at) FILTER (WHERE f.state IN ('queued', 'uploading', 'failed')) AS oldest
       FROM recording_parts p JOIN recording_files f ON f.recording_id = p.recording_id AND f.name = p.name`,
    )
  ).rows[0];
  return { parts: row.waiting, uploaded: row.uploaded, oldestEndedAt: row.oldest ?? undefined };
}
