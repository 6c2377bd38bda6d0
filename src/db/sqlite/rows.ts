/** Mapping between SQLite rows and the store's records. */
import type { RecordingRecord } from '../types.js';

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
  video: string | null;
  audio: string | null;
  recovered: number;
  created_at: string;
  in_progress?: number;
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
    video: r.video ? JSON.parse(r.video) : undefined,
    audio: r.audio ? JSON.parse(r.audio) : undefined,
    recovered: r.recovered === 1,
    createdAt: r.created_at,
    ...(r.in_progress === 1 ? { inProgress: true } : {}),
  };
}
