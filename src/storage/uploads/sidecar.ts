/**
 * The metadata sidecar: a JSON object beside each recording in the bucket
 * (`<name>.json` under the streams template), uploaded last, once every other
 * file of the recording is confirmed, so it only ever lists objects that exist.
 * Built from the catalog alone, so a retry uploads the same bytes.
 */
import type { FileRecord, RecordingRecord } from '../../db/types.js';

/** Name of a recording's sidecar file. */
export function sidecarName(recordingName: string): string {
  return `${recordingName}.json`;
}

export interface Sidecar {
  version: 1;
  recordingId: string;
  app: string;
  streamId: string;
  protocol: string;
  name: string;
  startedAt: string;
  endedAt: string;
  durationSeconds: number;
  /** Bytes of every file of the recording, as recorded. */
  sizeBytes: number;
  /** `1280x720`, when there is video. */
  resolution: string | null;
  video: RecordingRecord['video'] | null;
  audio: RecordingRecord['audio'] | null;
  /** SHA-256 of the recording's main file (MP4 or WebM). */
  checksum: { algorithm: 'sha256'; value: string } | null;
  bucket: string;
  /** Every uploaded object of the recording. */
  objects: Array<{ kind: string; name: string; key: string; size: number; sha256: string; contentType: string }>;
  recovered: boolean;
  /** The MP4 parts in time order with their wall-clock spans and object keys. */
  parts: Array<{ part: number; name: string; key: string | null; startedAt: string; endedAt: string; durationSeconds: number; size: number }>;
}

/** The sidecar's bytes for a recording whose other files are uploaded. */
export function buildSidecar(r: RecordingRecord, files: FileRecord[], bucket: string, contentTypeOf: (f: FileRecord) => string): Buffer {
  const uploaded = files.filter((f) => f.kind !== 'metadata' && f.state === 'uploaded' && f.key && f.sha256);
  const main = uploaded.find((f) => f.kind === 'mp4' || f.kind === 'webm');
  const { createdAt: _cataloged, inProgress: _live, parts, video, audio, recovered, ...recording } = r;
  const keyOf = new Map(uploaded.map((f) => [f.name, f.key!]));
  const doc: Sidecar = {
    version: 1,
    ...recording,
    resolution: video ? `${video.width}x${video.height}` : null,
    video: video ?? null,
    audio: audio ?? null,
    checksum: main ? { algorithm: 'sha256', value: main.sha256! } : null,
    bucket,
    objects: uploaded.map((f) => ({ kind: f.kind, name: f.name, key: f.key!, size: f.size, sha256: f.sha256!, contentType: contentTypeOf(f) })),
    recovered,
    parts: (parts ?? []).map((p) => ({ part: p.part, name: p.name, key: keyOf.get(p.name) ?? null, startedAt: p.startedAt, endedAt: p.endedAt, durationSeconds: p.durationSeconds, size: p.size })),
  };
  return Buffer.from(`${JSON.stringify(doc, null, 2)}\n`);
}
