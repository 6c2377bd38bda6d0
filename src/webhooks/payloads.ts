/**
 * The `data` of each webhook event, built from bus events and the catalog.
 * URLs are the server's stable ones (`/<app>/streams/<name>.mp4` …), absolute
 * when `api.publicUrl` is set, else paths.
 */
import type { RecordingCompleted, StreamEnded, StreamStarted, UploadFailed } from '../events/types.js';
import type { FileRecord, PartRecord, RecordingWithFiles } from '../db/types.js';

export type UrlOf = (path: string) => string;

const enc = encodeURIComponent;
const mediaPath = (app: string, folder: 'streams' | 'previews', name: string) => `/${enc(app)}/${folder}/${enc(name)}`;
const PREVIEW_KINDS = new Set(['preview', 'poster']);

export function liveStreamStarted(s: StreamStarted, url: UrlOf) {
  return {
    app: s.app,
    streamId: s.streamId,
    protocol: s.protocol,
    sessionId: s.sessionId,
    remoteAddress: s.remoteAddress,
    startedAt: s.startedAt,
    hlsUrl: url(mediaPath(s.app, 'streams', `${s.streamId}.m3u8`)),
  };
}

export function liveStreamEnded(s: StreamEnded) {
  const { app, streamId, protocol, sessionId, remoteAddress, startedAt, endedAt, reason } = s;
  return { app, streamId, protocol, sessionId, remoteAddress, startedAt, endedAt, durationSeconds: (Date.parse(endedAt) - Date.parse(startedAt)) / 1000, reason };
}

/** The recording's main file name (MP4, else WebM), if it has one. */
function mainFile<T extends { kind: string; name: string }>(files: T[]): T | undefined {
  return files.find((f) => f.kind === 'mp4') ?? files.find((f) => f.kind === 'webm');
}

/** What every recording event says of the recording itself. */
function recordingFacts(r: Omit<RecordingCompleted, 'files' | 'parts'>) {
  const { recordingId, app, streamId, protocol, name, startedAt, endedAt, durationSeconds, sizeBytes } = r;
  return { recordingId, app, streamId, protocol, name, startedAt, endedAt, durationSeconds, sizeBytes };
}

export function recordingReady(r: RecordingCompleted, url: UrlOf) {
  const main = mainFile(r.files);
  const playlist = r.files.find((f) => f.kind === 'hls-playlist');
  const poster = r.files.find((f) => f.kind === 'poster');
  return {
    ...recordingFacts(r),
    video: r.video ?? null,
    audio: r.audio ?? null,
    recovered: r.recovered,
    playbackUrl: main ? url(mediaPath(r.app, 'streams', main.name)) : null,
    hlsUrl: playlist ? url(mediaPath(r.app, 'streams', playlist.name)) : null,
    posterUrl: poster ? url(mediaPath(r.app, 'previews', poster.name)) : null,
    files: r.files.map((f) => ({ kind: f.kind, name: f.name, size: f.size, url: url(mediaPath(r.app, PREVIEW_KINDS.has(f.kind) ? 'previews' : 'streams', f.name)) })),
  };
}

/** After every file meant for the bucket is uploaded and verified. */
export function recordingUploaded(r: RecordingWithFiles, url: UrlOf) {
  const uploaded = r.files.filter((f) => f.state === 'uploaded');
  const main = mainFile(uploaded);
  const sidecar = uploaded.find((f) => f.kind === 'metadata');
  return {
    ...recordingFacts(r),
    bucket: main?.bucket ?? uploaded[0]?.bucket ?? null,
    /** The main file (MP4 or WebM): its key, size and SHA-256. */
    key: main?.key ?? null,
    size: main?.size ?? null,
    checksum: main?.sha256 ? { algorithm: 'sha256', value: main.sha256 } : null,
    playbackUrl: main ? url(mediaPath(r.app, 'streams', main.name)) : null,
    metadataKey: sidecar?.key ?? null,
    objects: uploaded.map((f) => ({ kind: f.kind, name: f.name, bucket: f.bucket, key: f.key, size: f.size, sha256: f.sha256 ?? null })),
  };
}

/** One MP4 part of a recording is in the bucket and verified. */
export function recordingPartUploaded(r: RecordingWithFiles, part: PartRecord, file: FileRecord, url: UrlOf) {
  return {
    recordingId: r.recordingId,
    app: r.app,
    streamId: r.streamId,
    name: r.name,
    part: part.part,
    file: part.name,
    startedAt: part.startedAt,
    endedAt: part.endedAt,
    durationSeconds: part.durationSeconds,
    size: file.size,
    bucket: file.bucket ?? null,
    key: file.key ?? null,
    checksum: file.sha256 ? { algorithm: 'sha256', value: file.sha256 } : null,
    playbackUrl: url(mediaPath(r.app, 'streams', part.name)),
  };
}

export function uploadFailed(f: UploadFailed) {
  return {
    recordingId: f.recordingId,
    app: f.app,
    streamId: f.streamId,
    file: f.name,
    kind: f.kind,
    bucket: f.bucket || null,
    key: f.key || null,
    errorClass: f.errorClass,
    code: f.code,
    message: f.message,
    attempts: f.attempts,
    nextAttemptAt: f.nextAttemptAt ?? null,
  };
}
