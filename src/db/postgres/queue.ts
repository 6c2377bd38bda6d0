/**
 * The upload queue on PostgreSQL: rows of `recording_files` in state
 * `queued` are due at `next_attempt_at`; a claim leases one to a node until
 * `lease_until`, picking it with `FOR UPDATE SKIP LOCKED` so nodes claiming at
 * the same moment never wait on each other nor take the same row. An
 * `uploading` row whose lease ran out is due again (its node died). Every
 * state change checks the lease owner, so a node that lost its lease cannot
 * overwrite what another node did. A file is claimed only by the node whose
 * disk holds it (`origin_node`, the connection's `bucketcast.node`): another
 * node could not read it. A node that dies leaves its files queued until it
 * restarts.
 */
import type pg from 'pg';
import type { MultipartRef, UploadJob, UploadQueue, UploadResult } from '../types.js';
import { inTransaction } from './database.js';
import { toFile, toRecording, type FileRow, type RecordingRow } from './rows.js';
import { listParts, requeue } from './parts.js';

const changed = (r: pg.QueryResult) => r.rowCount ?? 0;

/**
 * Files this node may upload: its own (or of no node: written before migration 7), and, when `adopt` (a
 * boolean parameter) is true, those of a node whose heartbeat was not seen for 30 s (shared storage only).
 */
const MINE_OR_ADOPTED = (t: string, adopt: string) => `${t}.origin_node IS NULL OR ${t}.origin_node = current_setting('bucketcast.node', true)
  OR (${adopt}::boolean AND NOT EXISTS (
    SELECT 1 FROM cluster_nodes n WHERE n.node_id = ${t}.origin_node AND n.last_seen_at > now() - interval '30 seconds'))`;

/**
 * A part of a multipart upload the service acknowledged, and the part size of
 * the upload: the shapes of `UploadedPart` and `MultipartRef.partSize` in the
 * store interface of issue 12 (resumable multipart), declared here so this
 * store implements them before that interface lands.
 */
export interface UploadedPart {
  partNumber: number;
  size: number;
  /** ETag the service answered (unquoted). */
  etag: string;
  /** Base64 MD5 of the part as sent. */
  checksum: string;
}

export class PgUploadQueue implements UploadQueue {
  constructor(private readonly pool: pg.Pool) {}

  async enqueue(recordingId: string, names: string[]): Promise<number> {
    if (names.length === 0) return 0;
    const now = Date.now();
    const r = await this.pool.query(
      `UPDATE recording_files SET state = 'queued', next_attempt_at = $1, updated_at = $2
       WHERE recording_id = $3 AND state = 'local' AND name = ANY($4::text[])`,
      [now, new Date(now).toISOString(), recordingId, names],
    );
    return changed(r);
  }

  /** Issue 13: queues a file again with new content (a live playlist that grew); false while it uploads or failed. */
  async requeue(recordingId: string, name: string, file: { localPath: string; size: number }): Promise<boolean> {
    return requeue(this.pool, recordingId, name, file.localPath, file.size);
  }

  async claim(owner: string, leaseMs: number, opts: { excludeApps?: string[]; adoptFromDeadNodes?: boolean } = {}): Promise<UploadJob | undefined> {
    const now = Date.now();
    const r = await this.pool.query<FileRow>(
      `UPDATE recording_files
       SET state = 'uploading', lease_owner = $1, lease_until = $2, claims = claims + 1, updated_at = $3
       WHERE id = (
         SELECT f.id FROM recording_files f
         WHERE ((f.state = 'queued' AND f.next_attempt_at <= $4) OR (f.state = 'uploading' AND f.lease_until < $4))
           AND NOT (f.app = ANY($5::text[]))
           AND (${MINE_OR_ADOPTED('f', '$6')})
           AND (f.kind <> 'metadata' OR NOT EXISTS (
             SELECT 1 FROM recording_files g
             WHERE g.recording_id = f.recording_id AND g.kind <> 'metadata' AND g.state IN ('queued', 'uploading', 'failed')))
         ORDER BY f.next_attempt_at, f.id LIMIT 1
         FOR UPDATE OF f SKIP LOCKED)
       RETURNING *`,
      [owner, now + leaseMs, new Date(now).toISOString(), now, opts.excludeApps ?? [], opts.adoptFromDeadNodes ?? false],
    );
    const row = r.rows[0];
    if (!row) return undefined;
    const rec = await this.pool.query<RecordingRow>('SELECT * FROM recordings WHERE id = $1', [row.recording_id]);
    const file = toFile(row);
    // The sidecar lists the recording's parts with their wall-clock times (issue 13).
    const recording = file.kind === 'metadata' ? { ...toRecording(rec.rows[0]), parts: await listParts(this.pool, row.recording_id) } : toRecording(rec.rows[0]);
    return { file, recording };
  }

  async renew(fileId: number, owner: string, leaseMs: number): Promise<boolean> {
    const r = await this.pool.query(`UPDATE recording_files SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'uploading'`, [
      Date.now() + leaseMs,
      fileId,
      owner,
    ]);
    return changed(r) === 1;
  }

  async setMultipart(fileId: number, m: (MultipartRef & { partSize?: number }) | null): Promise<void> {
    await inTransaction(this.pool, async (c) => {
      await c.query(
        'UPDATE recording_files SET multipart_upload_id = $1, multipart_bucket = $2, multipart_key = $3, multipart_part_size = $4, updated_at = $5 WHERE id = $6',
        [m?.uploadId ?? null, m?.bucket ?? null, m?.key ?? null, m?.partSize ?? null, new Date().toISOString(), fileId],
      );
      // Parts belong to one upload: a new one (or none) starts without them.
      await c.query('DELETE FROM upload_parts WHERE file_id = $1 AND upload_id IS DISTINCT FROM $2', [fileId, m?.uploadId ?? null]);
    });
  }

  /** Records a part of the file's multipart upload as acknowledged (forgotten with the upload by `setMultipart(null)` and `complete`). */
  async addPart(fileId: number, uploadId: string, p: UploadedPart): Promise<void> {
    await this.pool.query(
      `INSERT INTO upload_parts (file_id, upload_id, part_number, size, etag, checksum) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (file_id, upload_id, part_number) DO UPDATE SET size = excluded.size, etag = excluded.etag, checksum = excluded.checksum`,
      [fileId, uploadId, p.partNumber, p.size, p.etag, p.checksum],
    );
  }

  /** The parts recorded for the file's multipart upload, by part number. */
  async parts(fileId: number, uploadId: string): Promise<UploadedPart[]> {
    const r = await this.pool.query<{ part_number: number; size: number; etag: string; checksum: string }>(
      'SELECT part_number, size, etag, checksum FROM upload_parts WHERE file_id = $1 AND upload_id = $2 ORDER BY part_number',
      [fileId, uploadId],
    );
    return r.rows.map((x) => ({ partNumber: x.part_number, size: x.size, etag: x.etag, checksum: x.checksum }));
  }

  async complete(fileId: number, owner: string, r: UploadResult): Promise<void> {
    // Like the SQLite store: the parts go whoever completes (a completed object needs them no more).
    await this.pool.query('DELETE FROM upload_parts WHERE file_id = $1', [fileId]);
    await this.pool.query(
      `UPDATE recording_files SET state = 'uploaded', bucket = $1, object_key = $2, url = $3, size = $4, sha256 = $5,
         etag = $6, verified_by = $7, uploaded_at = $8, updated_at = $8, lease_owner = NULL, lease_until = NULL,
         last_error = NULL, error_code = NULL, error_class = NULL, multipart_upload_id = NULL, multipart_bucket = NULL, multipart_key = NULL,
         multipart_part_size = NULL
       WHERE id = $9 AND lease_owner = $10`,
      [r.bucket, r.key, r.url, r.size, r.sha256, r.etag, r.verifiedBy, new Date().toISOString(), fileId, owner],
    );
  }

  async retryLater(fileId: number, owner: string, at: number, error: { code: string; message: string }): Promise<void> {
    await this.pool.query(
      `UPDATE recording_files SET state = 'queued', attempts = attempts + 1, next_attempt_at = $1, last_error = $2,
         error_code = $3, error_class = 'retryable', lease_owner = NULL, lease_until = NULL, updated_at = $4
       WHERE id = $5 AND lease_owner = $6`,
      [at, error.message, error.code, new Date().toISOString(), fileId, owner],
    );
  }

  async fail(fileId: number, owner: string, error: { code: string; message: string }): Promise<void> {
    await this.pool.query(
      `UPDATE recording_files SET state = 'failed', attempts = attempts + 1, next_attempt_at = NULL, last_error = $1,
         error_code = $2, error_class = 'permanent', lease_owner = NULL, lease_until = NULL, updated_at = $3
       WHERE id = $4 AND lease_owner = $5`,
      [error.message, error.code, new Date().toISOString(), fileId, owner],
    );
  }

  async failQueued(app: string, error: { code: string; message: string }): Promise<number> {
    const r = await this.pool.query(
      `UPDATE recording_files SET state = 'failed', next_attempt_at = NULL, last_error = $1, error_code = $2, error_class = 'permanent', updated_at = $3
       WHERE app = $4 AND state = 'queued'`,
      [error.message, error.code, new Date().toISOString(), app],
    );
    return changed(r);
  }

  async release(fileId: number, owner: string): Promise<void> {
    await this.pool.query(
      `UPDATE recording_files SET state = 'queued', lease_owner = NULL, lease_until = NULL, updated_at = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'uploading'`,
      [new Date().toISOString(), fileId, owner],
    );
  }

  async releaseOwner(owner: string): Promise<number> {
    const r = await this.pool.query(
      `UPDATE recording_files SET state = 'queued', lease_owner = NULL, lease_until = NULL, updated_at = $1 WHERE lease_owner = $2 AND state = 'uploading'`,
      [new Date().toISOString(), owner],
    );
    return changed(r);
  }

  async retryFailed(filter: { app?: string; recordingId?: string; fileId?: number }): Promise<number> {
    const now = Date.now();
    const r = await this.pool.query(
      `UPDATE recording_files SET state = 'queued', next_attempt_at = $1, updated_at = $2
       WHERE state = 'failed' AND ($3::text IS NULL OR app = $3) AND ($4::text IS NULL OR recording_id = $4) AND ($5::bigint IS NULL OR id = $5)`,
      [now, new Date(now).toISOString(), filter.app ?? null, filter.recordingId ?? null, filter.fileId ?? null],
    );
    return changed(r);
  }

  async nextDueAt(opts: { excludeApps?: string[]; adoptFromDeadNodes?: boolean } = {}): Promise<number | undefined> {
    const r = await this.pool.query<{ at: number | null }>(
      `SELECT MIN(CASE WHEN state = 'queued' THEN next_attempt_at ELSE lease_until END) AS at FROM recording_files
       WHERE state IN ('queued', 'uploading') AND NOT (app = ANY($1::text[]))
         AND (${MINE_OR_ADOPTED('recording_files', '$2')})`,
      [opts.excludeApps ?? [], opts.adoptFromDeadNodes ?? false],
    );
    return r.rows[0].at ?? undefined;
  }
}
