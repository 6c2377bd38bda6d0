/** Mapping between PostgreSQL rows and the store's records (the SQLite rows' twins, with native booleans and JSONB). */
import type { RecordingRecord } from '../types.js';
import { opt } from '../file-rows.js';

export { toFile, type FileRow } from '../file-rows.js';

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
  /** The node that recorded it. */
  node_id?: string | null;
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
    ...(r.node_id ? { node: r.node_id } : {}),
  };
}
