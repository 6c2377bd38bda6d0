/**
 * The upload-queue/catalog file row, the same in SQLite and PostgreSQL (plain text and numbers), and its
 * mapping to the store's record; each engine's `rows.ts` maps its own recording rows.
 */
import type { FileRecord } from './types.js';

export interface FileRow {
  id: number;
  recording_id: string;
  app: string;
  kind: string;
  name: string;
  local_path: string | null;
  size: number;
  state: string;
  sha256: string | null;
  etag: string | null;
  bucket: string | null;
  object_key: string | null;
  url: string | null;
  verified_by: string | null;
  attempts: number;
  claims: number;
  last_error: string | null;
  error_code: string | null;
  error_class: string | null;
  next_attempt_at: number | null;
  lease_owner: string | null;
  lease_until: number | null;
  multipart_upload_id: string | null;
  multipart_bucket: string | null;
  multipart_key: string | null;
  multipart_part_size: number | null;
  uploaded_at: string | null;
  local_deleted_at: string | null;
  /** PostgreSQL only: the node whose disk holds the file. */
  origin_node?: string | null;
}

/** `null` columns become absent fields. */
export function opt<T>(v: T | null): T | undefined {
  return v === null ? undefined : v;
}

export function toFile(r: FileRow): FileRecord {
  return {
    id: r.id,
    recordingId: r.recording_id,
    app: r.app,
    kind: r.kind as FileRecord['kind'],
    name: r.name,
    localPath: r.local_path,
    size: r.size,
    state: r.state as FileRecord['state'],
    sha256: opt(r.sha256),
    etag: opt(r.etag),
    bucket: opt(r.bucket),
    key: opt(r.object_key),
    url: opt(r.url),
    verifiedBy: opt(r.verified_by) as FileRecord['verifiedBy'],
    attempts: r.attempts,
    claims: r.claims,
    lastError: opt(r.last_error),
    errorCode: opt(r.error_code),
    errorClass: opt(r.error_class) as FileRecord['errorClass'],
    nextAttemptAt: opt(r.next_attempt_at),
    leaseOwner: opt(r.lease_owner),
    leaseUntil: opt(r.lease_until),
    multipart: r.multipart_upload_id ? { uploadId: r.multipart_upload_id, bucket: r.multipart_bucket!, key: r.multipart_key!, ...(r.multipart_part_size && { partSize: r.multipart_part_size }) } : undefined,
    uploadedAt: opt(r.uploaded_at),
    localDeletedAt: opt(r.local_deleted_at),
    ...(r.origin_node ? { originNode: r.origin_node } : {}),
  };
}
