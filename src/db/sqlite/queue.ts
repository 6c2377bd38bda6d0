/**
 * The upload queue on SQLite: rows of `recording_files` in state `queued`
 * are due at `next_attempt_at`; a claim leases one to a node until
 * `lease_until`. An `uploading` row whose lease ran out is due again (its node
 * died), so several nodes sharing one database could work the same queue.
 * Every state change checks the lease owner, so a node that lost its lease
 * cannot overwrite what another node did.
 */
import { listParts, requeue } from './parts.js';
import type { MultipartRef, UploadJob, UploadQueue, UploadResult, UploadedPart } from '../types.js';
import type { Db } from './database.js';
import { toFile, toRecording, type FileRow, type RecordingRow } from './rows.js';

export class SqliteUploadQueue implements UploadQueue {
  constructor(private readonly db: Db) {}

  async enqueue(recordingId: string, names: string[]): Promise<number> {
    if (names.length === 0) return 0;
    const now = Date.now();
    const r = this.db
      .prepare(
        `UPDATE recording_files SET state = 'queued', next_attempt_at = @now, updated_at = @iso
         WHERE recording_id = @recordingId AND state = 'local' AND name IN (SELECT value FROM json_each(@names))`,
      )
      .run({ recordingId, names: JSON.stringify(names), now, iso: new Date(now).toISOString() });
    return r.changes;
  }

  async requeue(recordingId: string, name: string, file: { localPath: string; size: number }): Promise<boolean> {
    return requeue(this.db, recordingId, name, file.localPath, file.size);
  }

  async claim(owner: string, leaseMs: number, opts: { excludeApps?: string[] } = {}): Promise<UploadJob | undefined> {
    const now = Date.now();
    const row = this.db
      .prepare(
        `UPDATE recording_files
         SET state = 'uploading', lease_owner = @owner, lease_until = @until, claims = claims + 1, updated_at = @iso
         WHERE id = (
           SELECT f.id FROM recording_files f
           WHERE ((f.state = 'queued' AND f.next_attempt_at <= @now) OR (f.state = 'uploading' AND f.lease_until < @now))
             AND f.app NOT IN (SELECT value FROM json_each(@exclude))
             AND (f.kind <> 'metadata' OR NOT EXISTS (
               SELECT 1 FROM recording_files g
               WHERE g.recording_id = f.recording_id AND g.kind <> 'metadata' AND g.state IN ('queued', 'uploading', 'failed')))
           ORDER BY f.next_attempt_at, f.id LIMIT 1)
         RETURNING *`,
      )
      .get({ owner, until: now + leaseMs, now, iso: new Date(now).toISOString(), exclude: JSON.stringify(opts.excludeApps ?? []) }) as FileRow | undefined;
    if (!row) return undefined;
    const rec = this.db.prepare('SELECT * FROM recordings WHERE id = ?').get(row.recording_id) as RecordingRow;
    const file = toFile(row);
    // The sidecar lists the recording's parts with their wall-clock times.
    return { file, recording: file.kind === 'metadata' ? { ...toRecording(rec), parts: listParts(this.db, rec.id) } : toRecording(rec) };
  }

  async renew(fileId: number, owner: string, leaseMs: number): Promise<boolean> {
    const r = this.db
      .prepare(`UPDATE recording_files SET lease_until = ? WHERE id = ? AND lease_owner = ? AND state = 'uploading'`)
      .run(Date.now() + leaseMs, fileId, owner);
    return r.changes === 1;
  }

  async setMultipart(fileId: number, m: MultipartRef | null): Promise<void> {
    this.db.transaction(() => {
      this.db
        .prepare('UPDATE recording_files SET multipart_upload_id = ?, multipart_bucket = ?, multipart_key = ?, multipart_part_size = ?, updated_at = ? WHERE id = ?')
        .run(m?.uploadId ?? null, m?.bucket ?? null, m?.key ?? null, m?.partSize ?? null, new Date().toISOString(), fileId);
      // Parts belong to one upload: a new one (or none) starts without them.
      this.db.prepare('DELETE FROM upload_parts WHERE file_id = ? AND upload_id IS NOT ?').run(fileId, m?.uploadId ?? null);
    })();
  }

  async addPart(fileId: number, uploadId: string, p: UploadedPart): Promise<void> {
    this.db
      .prepare('INSERT OR REPLACE INTO upload_parts (file_id, upload_id, part_number, size, etag, checksum) VALUES (?, ?, ?, ?, ?, ?)')
      .run(fileId, uploadId, p.partNumber, p.size, p.etag, p.checksum);
  }

  async parts(fileId: number, uploadId: string): Promise<UploadedPart[]> {
    const rows = this.db
      .prepare('SELECT part_number, size, etag, checksum FROM upload_parts WHERE file_id = ? AND upload_id = ? ORDER BY part_number')
      .all(fileId, uploadId) as Array<{ part_number: number; size: number; etag: string; checksum: string }>;
    return rows.map((r) => ({ partNumber: r.part_number, size: r.size, etag: r.etag, checksum: r.checksum }));
  }

  async complete(fileId: number, owner: string, r: UploadResult): Promise<void> {
    const iso = new Date().toISOString();
    this.db.prepare('DELETE FROM upload_parts WHERE file_id = ?').run(fileId);
    this.db
      .prepare(
        `UPDATE recording_files SET state = 'uploaded', bucket = @bucket, object_key = @key, url = @url, size = @size, sha256 = @sha256,
           etag = @etag, verified_by = @verifiedBy, uploaded_at = @iso, updated_at = @iso, lease_owner = NULL, lease_until = NULL,
           last_error = NULL, error_code = NULL, error_class = NULL, multipart_upload_id = NULL, multipart_bucket = NULL, multipart_key = NULL, multipart_part_size = NULL
         WHERE id = @fileId AND lease_owner = @owner`,
      )
      .run({ ...r, fileId, owner, iso });
  }

  async retryLater(fileId: number, owner: string, at: number, error: { code: string; message: string }): Promise<void> {
    this.db
      .prepare(
        `UPDATE recording_files SET state = 'queued', attempts = attempts + 1, next_attempt_at = @at, last_error = @message,
           error_code = @code, error_class = 'retryable', lease_owner = NULL, lease_until = NULL, updated_at = @iso
         WHERE id = @fileId AND lease_owner = @owner`,
      )
      .run({ fileId, owner, at, ...error, iso: new Date().toISOString() });
  }

  async fail(fileId: number, owner: string, error: { code: string; message: string }): Promise<void> {
    this.db
      .prepare(
        `UPDATE recording_files SET state = 'failed', attempts = attempts + 1, next_attempt_at = NULL, last_error = @message,
           error_code = @code, error_class = 'permanent', lease_owner = NULL, lease_until = NULL, updated_at = @iso
         WHERE id = @fileId AND lease_owner = @owner`,
      )
      .run({ fileId, owner, ...error, iso: new Date().toISOString() });
  }

  async failQueued(app: string, error: { code: string; message: string }): Promise<number> {
    return this.db
      .prepare(
        `UPDATE recording_files SET state = 'failed', next_attempt_at = NULL, last_error = @message, error_code = @code, error_class = 'permanent', updated_at = @iso
         WHERE app = @app AND state = 'queued'`,
      )
      .run({ app, ...error, iso: new Date().toISOString() }).changes;
  }

  async release(fileId: number, owner: string): Promise<void> {
    this.db
      .prepare(`UPDATE recording_files SET state = 'queued', lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE id = ? AND lease_owner = ? AND state = 'uploading'`)
      .run(new Date().toISOString(), fileId, owner);
  }

  async releaseOwner(owner: string): Promise<number> {
    return this.db
      .prepare(`UPDATE recording_files SET state = 'queued', lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE lease_owner = ? AND state = 'uploading'`)
      .run(new Date().toISOString(), owner).changes;
  }

  async retryFailed(filter: { app?: string; recordingId?: string; fileId?: number }): Promise<number> {
    const now = Date.now();
    return this.db
      .prepare(
        `UPDATE recording_files SET state = 'queued', next_attempt_at = @now, updated_at = @iso
         WHERE state = 'failed' AND (@app IS NULL OR app = @app) AND (@recordingId IS NULL OR recording_id = @recordingId) AND (@fileId IS NULL OR id = @fileId)`,
      )
      .run({ now, iso: new Date(now).toISOString(), app: filter.app ?? null, recordingId: filter.recordingId ?? null, fileId: filter.fileId ?? null }).changes;
  }

  async nextDueAt(opts: { excludeApps?: string[] } = {}): Promise<number | undefined> {
    const row = this.db
      .prepare(
        `SELECT MIN(CASE WHEN state = 'queued' THEN next_attempt_at ELSE lease_until END) AS at FROM recording_files
         WHERE state IN ('queued', 'uploading') AND app NOT IN (SELECT value FROM json_each(?))`,
      )
      .get(JSON.stringify(opts.excludeApps ?? [])) as { at: number | null };
    return row.at ?? undefined;
  }
}
