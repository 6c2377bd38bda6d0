/** Mapping between PostgreSQL rows and the store's records (the SQLite rows' twins, with native booleans and JSONB). */
import type { FileRecord, RecordingRecord } from '../types.js';

export interface RecordingRow {
  id: string;
  app: string;
  stream_id: string;
  protocol: string;
  name: string;
  started_at: string;
  ended_at: string;
  duration_seconds: number;
  size_bytes: number;
  video: RecordingRecord['video'] | null;
  audio: RecordingRecord['audio'] | null;
  recovered: boolean;
  created_at: string;
  /** Issue 13: a recording whose parts are cataloged while its stream is still recorded. */
  in_progress?: boolean;
}

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
}

/** `null` columns become absent fields. */
function opt<T>(v: T | null): T | undefined {
  return v === null ? undefined : v;
}

export function toRecording(r: RecordingRow): RecordingRecord {
  return {
    recordingId: r.id,
    app: r.app,
    streamId: r.stream_id,
    protocol: r.protocol as RecordingRecord['protocol'],
    name: r.name,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    durationSeconds: r.duration_seconds,
    sizeBytes: r.size_bytes,
    video: opt(r.video),
    audio: opt(r.audio),
    recovered: r.recovered,
    createdAt: r.created_at,
    ...(r.in_progress ? { inProgress: true } : {}),
  };
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
    multipart: r.multipart_upload_id
      ? { uploadId: r.multipart_upload_id, bucket: r.multipart_bucket!, key: r.multipart_key!, ...(r.multipart_part_size && { partSize: r.multipart_part_size }) }
      : undefined,
    uploadedAt: opt(r.uploaded_at),
    localDeletedAt: opt(r.local_deleted_at),
  };
}
