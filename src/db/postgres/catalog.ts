/** The recording catalog on PostgreSQL (the same rules as the SQLite catalog; see types.ts). */
import type pg from 'pg';
import type { FileState, NewFile, RecordingCatalog, RecordingFilter, RecordingRecord, RecordingSummary, RecordingWithFiles, FileRecord } from '../types.js';
import { inTransaction } from './database.js';
import * as parts from './parts.js';
import type { LiveRecording, PartLocation, PartRecord, RecordedPart } from './parts.js';
import { toFile, toRecording, type FileRow, type RecordingRow } from './rows.js';

const STATES: FileState[] = ['local', 'queued', 'uploading', 'uploaded', 'failed'];

export class PgCatalog implements RecordingCatalog {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Adds a recording, its files (state `local`) and its parts; files and parts already known are left as they
   * are. A recording in progress (issue 13: parts cataloged while live) is completed: its facts replace the provisional ones.
   */
  async addRecording(r: Omit<RecordingRecord, 'createdAt'>, files: NewFile[], recordedParts: RecordedPart[] = []): Promise<void> {
    const now = new Date().toISOString();
    await inTransaction(this.pool, async (c) => {
      await c.query(
        `INSERT INTO recordings (id, app, stream_id, protocol, name, started_at, ended_at, duration_seconds, size_bytes, video, audio, recovered, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (id) DO UPDATE SET ended_at = excluded.ended_at, duration_seconds = excluded.duration_seconds, size_bytes = excluded.size_bytes,
           video = excluded.video, audio = excluded.audio, recovered = excluded.recovered, in_progress = false
         WHERE recordings.in_progress`,
        [r.recordingId, r.app, r.streamId, r.protocol, r.name, r.startedAt, r.endedAt, r.durationSeconds, r.sizeBytes,
          r.video ? JSON.stringify(r.video) : null, r.audio ? JSON.stringify(r.audio) : null, r.recovered, now],
      );
      // One statement for every file: a recording may have thousands of HLS segments.
      await parts.insertFiles(c, r, files, now);
      await parts.insertParts(c, r, recordedParts);
    });
  }

  async getRecording(recordingId: string): Promise<RecordingWithFiles | undefined> {
    const rec = await this.pool.query<RecordingRow>('SELECT * FROM recordings WHERE id = $1', [recordingId]);
    if (rec.rows.length === 0) return undefined;
    const files = await this.pool.query<FileRow>('SELECT * FROM recording_files WHERE recording_id = $1 ORDER BY id', [recordingId]);
    return { ...toRecording(rec.rows[0]), files: files.rows.map(toFile), parts: await parts.listParts(this.pool, recordingId) } as RecordingWithFiles;
  }

  async listRecordings(
    filter: RecordingFilter & { from?: string; to?: string } & { limit?: number; offset?: number; after?: { startedAt: string; recordingId: string } } = {},
  ): Promise<RecordingSummary[]> {
    const p = filterParams(filter);
    const r = await this.pool.query<SummaryRow>(
      `SELECT * FROM (${SUMMARY_SQL}) s WHERE ${FILTER_SQL}
         AND ($8::text IS NULL OR started_at < $8 OR (started_at = $8 AND id < $9))
       ORDER BY started_at DESC, id DESC LIMIT $10 OFFSET $11`,
      [...p, filter.after?.startedAt ?? null, filter.after?.recordingId ?? null, filter.limit ?? 100, filter.offset ?? 0],
    );
    const byRecording = await parts.partsOf(this.pool, r.rows.map((x) => x.id));
    return r.rows.map((x) => ({ ...toSummary(x), parts: byRecording.get(x.id) ?? [] }));
  }

  async countRecordings(filter: RecordingFilter & { from?: string; to?: string } = {}): Promise<number> {
    const r = await this.pool.query<{ n: number }>(`SELECT COUNT(*) AS n FROM (${SUMMARY_SQL}) s WHERE ${FILTER_SQL}`, filterParams(filter));
    return r.rows[0].n;
  }

  async deleteRecording(recordingId: string): Promise<boolean> {
    // recording_files rows go with it (ON DELETE CASCADE).
    return ((await this.pool.query('DELETE FROM recordings WHERE id = $1', [recordingId])).rowCount ?? 0) === 1;
  }

  async uploadBacklog(): Promise<{ files: number; bytes: number; oldestCreatedAt?: string }> {
    const r = await this.pool.query<{ n: number; bytes: number; oldest: string | null }>(
      `SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes, MIN(created_at) AS oldest FROM recording_files WHERE state IN ('queued', 'uploading')`,
    );
    const row = r.rows[0];
    return { files: row.n, bytes: row.bytes, oldestCreatedAt: row.oldest ?? undefined };
  }

  async findFile(app: string, name: string): Promise<FileRecord | undefined> {
    const r = await this.pool.query<FileRow>('SELECT * FROM recording_files WHERE app = $1 AND name = $2 ORDER BY id DESC LIMIT 1', [app, name]);
    return r.rows[0] ? toFile(r.rows[0]) : undefined;
  }

  async uploadedLocalCopies(app: string, endedBefore: Date, limit: number): Promise<FileRecord[]> {
    const r = await this.pool.query<FileRow>(
      `SELECT f.* FROM recording_files f JOIN recordings r ON r.id = f.recording_id
       WHERE f.app = $1 AND f.state = 'uploaded' AND f.local_path IS NOT NULL AND f.local_deleted_at IS NULL AND r.ended_at < $2
       ORDER BY f.id LIMIT $3`,
      [app, endedBefore.toISOString(), limit],
    );
    return r.rows.map(toFile);
  }

  async markLocalDeleted(fileId: number): Promise<void> {
    const now = new Date().toISOString();
    await this.pool.query('UPDATE recording_files SET local_deleted_at = $1, updated_at = $1 WHERE id = $2', [now, fileId]);
  }

  /** Issue 13: catalogs a part of a recording in progress (creating the recording if new); idempotent. */
  async addPart(r: LiveRecording, part: RecordedPart, file: NewFile): Promise<void> {
    await parts.addPart(this.pool, r, part, file);
  }

  /** Issue 13: catalogs files of a recording in progress (live HLS); files known are left as they are. */
  async addLiveFiles(r: LiveRecording, files: NewFile[]): Promise<void> {
    await parts.addLiveFiles(this.pool, r, files);
  }

  /** Issue 13: points an uploaded file at another local copy of the same bytes; false unless uploaded. */
  async relocate(recordingId: string, name: string, localPath: string): Promise<boolean> {
    return parts.relocate(this.pool, recordingId, name, localPath);
  }

  async listParts(recordingId: string): Promise<PartRecord[]> {
    return parts.listParts(this.pool, recordingId);
  }

  /** Issue 13: parts of a stream whose wall-clock span overlaps [from, to), in time order, with where their files are. */
  async partsBetween(app: string, streamId: string, from: string, to: string): Promise<PartLocation[]> {
    return parts.partsBetween(this.pool, app, streamId, from, to);
  }

  async partBacklog(): Promise<{ parts: number; oldestEndedAt?: string; uploaded: number }> {
    return parts.partBacklog(this.pool);
  }

  async countByState(app?: string): Promise<Record<FileState, number>> {
    const r = await this.pool.query<{ state: FileState; n: number }>(
      'SELECT state, COUNT(*) AS n FROM recording_files WHERE ($1::text IS NULL OR app = $1) GROUP BY state',
      [app ?? null],
    );
    const out = Object.fromEntries(STATES.map((s) => [s, 0])) as Record<FileState, number>;
    for (const row of r.rows) out[row.state] = row.n;
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
      COUNT(*) FILTER (WHERE f.state = 'local') AS n_local, COUNT(*) FILTER (WHERE f.state = 'queued') AS n_queued,
      COUNT(*) FILTER (WHERE f.state = 'uploading') AS n_uploading, COUNT(*) FILTER (WHERE f.state = 'uploaded') AS n_uploaded,
      COUNT(*) FILTER (WHERE f.state = 'failed') AS n_failed
    FROM recordings r2 LEFT JOIN recording_files f ON f.recording_id = r2.id GROUP BY r2.id
  ) c ON c.rid = r.id`;

/** Parameters $1..$7 (see `filterParams`); $6/$7 are issue 13's wall-clock overlap (`from`, `to`). */
const FILTER_SQL = `($1::text IS NULL OR app = $1) AND ($2::text IS NULL OR stream_id = $2)
  AND ($3::text IS NULL OR upload_state = $3)
  AND ($4::text IS NULL OR started_at >= $4) AND ($5::text IS NULL OR started_at < $5)
  AND ($6::text IS NULL OR ended_at > $6) AND ($7::text IS NULL OR started_at < $7)`;

function filterParams(f: RecordingFilter & { from?: string; to?: string }): Array<string | null> {
  // Stored times are ISO strings in UTC with milliseconds (collation "C"), so comparing normalized strings compares instants.
  const iso = (v?: string) => (v === undefined ? null : new Date(v).toISOString());
  return [f.app ?? null, f.streamId ?? null, f.uploadState ?? null, iso(f.startedFrom), iso(f.startedBefore), iso(f.from), iso(f.to)];
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
