/** The recording catalog on SQLite. */
import type { RecordedPart } from '../../events/types.js';
import type { FileState, NewFile, RecordingCatalog, RecordingFilter, RecordingRecord, RecordingSummary, RecordingWithFiles, FileRecord, PartLocation, PartRecord } from '../types.js';
import * as parts from './parts.js';
import type { Db } from './database.js';
import { toFile, toRecording, type FileRow, type RecordingRow } from './rows.js';

const STATES: FileState[] = ['local', 'queued', 'uploading', 'uploaded', 'failed'];

export class SqliteCatalog implements RecordingCatalog {
  constructor(private readonly db: Db) {}

  async addRecording(r: Omit<RecordingRecord, 'createdAt' | 'parts'>, files: NewFile[], recordedParts: RecordedPart[] = []): Promise<void> {
    const now = new Date().toISOString();
    const insertRecording = this.db.prepare(
      `INSERT INTO recordings (id, app, stream_id, protocol, name, started_at, ended_at, duration_seconds, size_bytes, video, audio, recovered, created_at)
       VALUES (@id, @app, @streamId, @protocol, @name, @startedAt, @endedAt, @durationSeconds, @sizeBytes, @video, @audio, @recovered, @now)
       ON CONFLICT (id) DO UPDATE SET ended_at = excluded.ended_at, duration_seconds = excluded.duration_seconds, size_bytes = excluded.size_bytes,
         video = excluded.video, audio = excluded.audio, recovered = excluded.recovered, in_progress = 0
       WHERE recordings.in_progress = 1`,
    );
    const insertFile = this.db.prepare(
      `INSERT INTO recording_files (recording_id, app, kind, name, local_path, size, state, created_at, updated_at)
       VALUES (@recordingId, @app, @kind, @name, @localPath, @size, 'local', @now, @now)
       ON CONFLICT (recording_id, name) DO NOTHING`,
    );
    this.db.transaction(() => {
      insertRecording.run({
        id: r.recordingId,
        app: r.app,
        streamId: r.streamId,
        protocol: r.protocol,
        name: r.name,
        startedAt: r.startedAt,
        endedAt: r.endedAt,
        durationSeconds: r.durationSeconds,
        sizeBytes: r.sizeBytes,
        video: r.video ? JSON.stringify(r.video) : null,
        audio: r.audio ? JSON.stringify(r.audio) : null,
        recovered: r.recovered ? 1 : 0,
        now,
      });
      for (const f of files) insertFile.run({ recordingId: r.recordingId, app: r.app, kind: f.kind, name: f.name, localPath: f.localPath, size: f.size, now });
      parts.insertParts(this.db, r, recordedParts);
    })();
  }

  async getRecording(recordingId: string): Promise<RecordingWithFiles | undefined> {
    const row = this.db.prepare('SELECT * FROM recordings WHERE id = ?').get(recordingId) as RecordingRow | undefined;
    if (!row) return undefined;
    const files = this.db.prepare('SELECT * FROM recording_files WHERE recording_id = ? ORDER BY id').all(recordingId) as FileRow[];
    return { ...toRecording(row), files: files.map(toFile), parts: parts.listParts(this.db, recordingId) };
  }

  async listRecordings(
    filter: RecordingFilter & { limit?: number; offset?: number; after?: { startedAt: string; recordingId: string } } = {},
  ): Promise<RecordingSummary[]> {
    const rows = this.db
      .prepare(
        `SELECT * FROM (${SUMMARY_SQL}) WHERE ${FILTER_SQL}
           AND (@afterStarted IS NULL OR started_at < @afterStarted OR (started_at = @afterStarted AND id < @afterId))
         ORDER BY started_at DESC, id DESC LIMIT @limit OFFSET @offset`,
      )
      .all({
        ...filterParams(filter),
        afterStarted: filter.after?.startedAt ?? null,
        afterId: filter.after?.recordingId ?? null,
        limit: filter.limit ?? 100,
        offset: filter.offset ?? 0,
      }) as SummaryRow[];
    const byRecording = parts.partsOf(this.db, rows.map((r) => r.id));
    return rows.map((r) => ({ ...toSummary(r), parts: byRecording.get(r.id) ?? [] }));
  }

  async countRecordings(filter: RecordingFilter = {}): Promise<number> {
    const row = this.db.prepare(`SELECT COUNT(*) AS n FROM (${SUMMARY_SQL}) WHERE ${FILTER_SQL}`).get(filterParams(filter)) as { n: number };
    return row.n;
  }

  async deleteRecording(recordingId: string): Promise<boolean> {
    // recording_files rows go with it (ON DELETE CASCADE).
    return this.db.prepare('DELETE FROM recordings WHERE id = ?').run(recordingId).changes === 1;
  }

  async uploadBacklog(): Promise<{ files: number; bytes: number; oldestCreatedAt?: string }> {
    const row = this.db
      .prepare(`SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes, MIN(created_at) AS oldest FROM recording_files WHERE state IN ('queued', 'uploading')`)
      .get() as { n: number; bytes: number; oldest: string | null };
    return { files: row.n, bytes: row.bytes, oldestCreatedAt: row.oldest ?? undefined };
  }

  async findFile(app: string, name: string): Promise<FileRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM recording_files WHERE app = ? AND name = ? ORDER BY id DESC LIMIT 1').get(app, name) as FileRow | undefined;
    return row ? toFile(row) : undefined;
  }

  async uploadedLocalCopies(app: string, endedBefore: Date, limit: number): Promise<FileRecord[]> {
    const rows = this.db
      .prepare(
        `SELECT f.* FROM recording_files f JOIN recordings r ON r.id = f.recording_id
         WHERE f.app = ? AND f.state = 'uploaded' AND f.local_path IS NOT NULL AND f.local_deleted_at IS NULL AND r.ended_at < ?
         ORDER BY f.id LIMIT ?`,
      )
      .all(app, endedBefore.toISOString(), limit) as FileRow[];
    return rows.map(toFile);
  }

  async markLocalDeleted(fileId: number): Promise<void> {
    const now = new Date().toISOString();
    this.db.prepare('UPDATE recording_files SET local_deleted_at = ?, updated_at = ? WHERE id = ?').run(now, now, fileId);
  }

  async addPart(r: Omit<RecordingRecord, 'createdAt' | 'parts'>, part: RecordedPart, file: NewFile): Promise<void> {
    parts.addPart(this.db, r, part, file);
  }

  async addLiveFiles(r: Omit<RecordingRecord, 'createdAt' | 'parts'>, files: NewFile[]): Promise<void> {
    parts.addLiveFiles(this.db, r, files);
  }

  async relocate(recordingId: string, name: string, localPath: string): Promise<boolean> {
    return parts.relocate(this.db, recordingId, name, localPath);
  }

  async listParts(recordingId: string): Promise<PartRecord[]> {
    return parts.listParts(this.db, recordingId);
  }

  async partsBetween(app: string, streamId: string, from: string, to: string): Promise<PartLocation[]> {
    return parts.partsBetween(this.db, app, streamId, from, to);
  }

  async partBacklog(): Promise<{ parts: number; oldestEndedAt?: string; uploaded: number }> {
    return parts.partBacklog(this.db);
  }

  async countByState(app?: string): Promise<Record<FileState, number>> {
    const rows = this.db
      .prepare('SELECT state, COUNT(*) AS n FROM recording_files WHERE (@app IS NULL OR app = @app) GROUP BY state')
      .all({ app: app ?? null }) as Array<{ state: FileState; n: number }>;
    const out = Object.fromEntries(STATES.map((s) => [s, 0])) as Record<FileState, number>;
    for (const r of rows) out[r.state] = r.n;
    return out;
  }
}

/** Each recording with its files counted by state and its upload state (see `RecordingUploadState`). */
const SUMMARY_SQL = `
  SELECT r.*, c.n_local, c.n_queued, c.n_uploading, c.n_uploaded, c.n_failed,
    CASE WHEN c.n_uploading > 0 THEN 'uploading' WHEN c.n_failed > 0 THEN 'failed' WHEN c.n_queued > 0 THEN 'queued'
         WHEN c.n_uploaded > 0 THEN 'uploaded' ELSE 'local' END AS upload_state
  FROM recordings r JOIN (
    SELECT r2.id AS rid,
      COALESCE(SUM(f.state = 'local'), 0) AS n_local, COALESCE(SUM(f.state = 'queued'), 0) AS n_queued,
      COALESCE(SUM(f.state = 'uploading'), 0) AS n_uploading, COALESCE(SUM(f.state = 'uploaded'), 0) AS n_uploaded,
      COALESCE(SUM(f.state = 'failed'), 0) AS n_failed
    FROM recordings r2 LEFT JOIN recording_files f ON f.recording_id = r2.id GROUP BY r2.id
  ) c ON c.rid = r.id`;

const FILTER_SQL = `(@app IS NULL OR app = @app) AND (@streamId IS NULL OR stream_id = @streamId)
  AND (@state IS NULL OR upload_state = @state)
  AND (@from IS NULL OR started_at >= @from) AND (@before IS NULL OR started_at < @before)
  AND (@wallFrom IS NULL OR ended_at > @wallFrom) AND (@wallTo IS NULL OR started_at < @wallTo)`;

function filterParams(f: RecordingFilter): Record<string, string | null> {
  // Stored times are ISO strings in UTC with milliseconds, so comparing normalized strings compares instants.
  const iso = (v?: string) => (v === undefined ? null : new Date(v).toISOString());
  return { app: f.app ?? null, streamId: f.streamId ?? null, state: f.uploadState ?? null, from: iso(f.startedFrom), before: iso(f.startedBefore), wallFrom: iso(f.from), wallTo: iso(f.to) };
}

interface SummaryRow extends RecordingRow {
  n_local: number;
  n_queued: number;
  n_uploading: number;
  n_uploaded: number;
  n_failed: number;
  upload_state: RecordingSummary['uploadState'];
}

function toSummary(r: SummaryRow): RecordingSummary {
  return {
    ...toRecording(r),
    uploadState: r.upload_state,
    fileCounts: { local: r.n_local, queued: r.n_queued, uploading: r.n_uploading, uploaded: r.n_uploaded, failed: r.n_failed },
  };
}
