/**
 * The catalog's recording parts on SQLite: each MP4 part's wall-clock span,
 * joined to its file (`recording_files`, same recording and name) for where
 * it is. Parts of a recording in progress are added as they close.
 */
import type { RecordedPart } from '../../events/types.js';
import type { NewFile, PartLocation, PartRecord, RecordingRecord } from '../types.js';
import type { Db } from './database.js';
import type { FileRow } from './rows.js';

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

/** Inserts parts of a recording; parts already known are left as they are. */
export function insertParts(db: Db, r: { recordingId: string; app: string; streamId: string }, parts: RecordedPart[]): void {
  const insert = db.prepare(
    `INSERT INTO recording_parts (recording_id, part, app, stream_id, name, started_at, ended_at, duration_seconds, offset_seconds, size)
     VALUES (@recordingId, @part, @app, @streamId, @name, @startedAt, @endedAt, @durationSeconds, @offsetSeconds, @size)
     ON CONFLICT (recording_id, part) DO NOTHING`,
  );
  for (const p of parts) {
    insert.run({
      recordingId: r.recordingId,
      app: r.app,
      streamId: r.streamId,
      part: p.part,
      name: p.name,
      startedAt: new Date(p.startedAt).toISOString(),
      endedAt: new Date(p.endedAt).toISOString(),
      durationSeconds: p.durationSeconds,
      offsetSeconds: p.offsetSeconds,
      size: p.size,
    });
  }
}

/** Creates a recording in progress unless the catalog knows it. */
function ensureLive(db: Db, r: Omit<RecordingRecord, 'createdAt' | 'parts'>, now: string): void {
  db.prepare(
    `INSERT INTO recordings (id, app, stream_id, protocol, name, started_at, ended_at, duration_seconds, size_bytes, video, audio, recovered, created_at, in_progress)
     VALUES (@id, @app, @streamId, @protocol, @name, @startedAt, @startedAt, 0, 0, @video, @audio, 0, @now, 1)
     ON CONFLICT (id) DO NOTHING`,
  ).run({ id: r.recordingId, app: r.app, streamId: r.streamId, protocol: r.protocol, name: r.name, startedAt: r.startedAt, video: r.video ? JSON.stringify(r.video) : null, audio: r.audio ? JSON.stringify(r.audio) : null, now });
}

/** See `RecordingCatalog.addLiveFiles`. */
export function addLiveFiles(db: Db, r: Omit<RecordingRecord, 'createdAt' | 'parts'>, files: NewFile[]): void {
  const now = new Date().toISOString();
  const insert = db.prepare(
    `INSERT INTO recording_files (recording_id, app, kind, name, local_path, size, state, created_at, updated_at)
     VALUES (@recordingId, @app, @kind, @name, @localPath, @size, 'local', @now, @now)
     ON CONFLICT (recording_id, name) DO NOTHING`,
  );
  db.transaction(() => {
    ensureLive(db, r, now);
    for (const f of files) insert.run({ recordingId: r.recordingId, app: r.app, kind: f.kind, name: f.name, localPath: f.localPath, size: f.size, now });
  })();
}

/** See `RecordingCatalog.relocate`. */
export function relocate(db: Db, recordingId: string, name: string, localPath: string): boolean {
  const now = new Date().toISOString();
  return db.prepare(`UPDATE recording_files SET local_path = ?, local_deleted_at = NULL, updated_at = ? WHERE recording_id = ? AND name = ? AND state = 'uploaded'`).run(localPath, now, recordingId, name).changes === 1;
}

/** See `UploadQueue.requeue`. */
export function requeue(db: Db, recordingId: string, name: string, localPath: string, size: number): boolean {
  const now = Date.now();
  return (
    db
      .prepare(
        `UPDATE recording_files SET state = 'queued', local_path = @localPath, size = @size, next_attempt_at = @now, attempts = 0, last_error = NULL,
           error_code = NULL, error_class = NULL, local_deleted_at = NULL, updated_at = @iso
         WHERE recording_id = @recordingId AND name = @name AND state IN ('local', 'queued', 'uploaded')`,
      )
      .run({ recordingId, name, localPath, size, now, iso: new Date(now).toISOString() }).changes === 1
  );
}

/** See `RecordingCatalog.addPart`. */
export function addPart(db: Db, r: Omit<RecordingRecord, 'createdAt' | 'parts'>, part: RecordedPart, file: NewFile): void {
  const now = new Date().toISOString();
  db.transaction(() => {
    ensureLive(db, r, now);
    const known = db.prepare('SELECT 1 FROM recording_parts WHERE recording_id = ? AND part = ?').get(r.recordingId, part.part);
    if (known) return;
    insertParts(db, r, [part]);
    db.prepare(
      `INSERT INTO recording_files (recording_id, app, kind, name, local_path, size, state, created_at, updated_at)
       VALUES (@recordingId, @app, @kind, @name, @localPath, @size, 'local', @now, @now)
       ON CONFLICT (recording_id, name) DO NOTHING`,
    ).run({ recordingId: r.recordingId, app: r.app, kind: file.kind, name: file.name, localPath: file.localPath, size: file.size, now });
    db.prepare(
      `UPDATE recordings SET ended_at = MAX(ended_at, @endedAt), duration_seconds = MAX(duration_seconds, @duration), size_bytes = size_bytes + @size
       WHERE id = @id AND in_progress = 1`,
    ).run({ id: r.recordingId, endedAt: new Date(part.endedAt).toISOString(), duration: part.offsetSeconds + part.durationSeconds, size: part.size });
  })();
}

export function listParts(db: Db, recordingId: string): PartRecord[] {
  return (db.prepare('SELECT * FROM recording_parts WHERE recording_id = ? ORDER BY part').all(recordingId) as PartRow[]).map(toPart);
}

/** Parts of several recordings at once, by recording id (listings). */
export function partsOf(db: Db, recordingIds: string[]): Map<string, PartRecord[]> {
  const out = new Map<string, PartRecord[]>();
  if (recordingIds.length === 0) return out;
  const rows = db
    .prepare('SELECT * FROM recording_parts WHERE recording_id IN (SELECT value FROM json_each(?)) ORDER BY recording_id, part')
    .all(JSON.stringify(recordingIds)) as PartRow[];
  for (const r of rows) {
    const list = out.get(r.recording_id) ?? [];
    list.push(toPart(r));
    out.set(r.recording_id, list);
  }
  return out;
}

export function partsBetween(db: Db, app: string, streamId: string, from: string, to: string): PartLocation[] {
  const rows = db
    .prepare(
      `SELECT p.*, f.local_path AS f_local_path, f.local_deleted_at AS f_local_deleted_at, f.state AS f_state, f.bucket AS f_bucket, f.object_key AS f_key
       FROM recording_parts p JOIN recording_files f ON f.recording_id = p.recording_id AND f.name = p.name
       WHERE p.app = @app AND p.stream_id = @streamId AND p.started_at < @to AND p.ended_at > @from
       ORDER BY p.started_at, p.recording_id, p.part`,
    )
    .all({ app, streamId, from: new Date(from).toISOString(), to: new Date(to).toISOString() }) as Array<
    PartRow & { f_local_path: string | null; f_local_deleted_at: string | null; f_state: FileRow['state']; f_bucket: string | null; f_key: string | null }
  >;
  return rows.map((r) => ({
    ...toPart(r),
    localPath: r.f_local_path && !r.f_local_deleted_at ? r.f_local_path : undefined,
    state: r.f_state as PartLocation['state'],
    bucket: r.f_bucket ?? undefined,
    key: r.f_key ?? undefined,
  }));
}

export function partBacklog(db: Db): { parts: number; oldestEndedAt?: string; uploaded: number } {
  const row = db
    .prepare(
      `SELECT COALESCE(SUM(f.state IN ('queued', 'uploading', 'failed')), 0) AS waiting, COALESCE(SUM(f.state = 'uploaded'), 0) AS uploaded,
         MIN(CASE WHEN f.state IN ('queued', 'uploading', 'failed') THEN p.ended_at END) AS oldest
       FROM recording_parts p JOIN recording_files f ON f.recording_id = p.recording_id AND f.name = p.name`,
    )
    .get() as { waiting: number; uploaded: number; oldest: string | null };
  return { parts: row.waiting, uploaded: row.uploaded, oldestEndedAt: row.oldest ?? undefined };
}
