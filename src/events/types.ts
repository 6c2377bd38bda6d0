/**
 * Payloads of the events modules exchange. Pure types, so every module can
 * depend on this file without depending on each other.
 */

/** How a stream came in: pushed (rtmp, whip, srt listener), pulled by a source (rtsp, rtmp, hls, srt) or imported from a file. */
export type Protocol = 'rtmp' | 'whip' | 'rtsp' | 'srt' | 'hls' | 'import';

/** What kind of artifact a recorded file is; decides its key template and content type. */
export type FileKind = 'mp4' | 'webm' | 'hls-playlist' | 'hls-segment' | 'preview' | 'poster' | 'metadata';

export interface RecordedFile {
  /** What the file is. */
  kind: FileKind;
  /** Absolute path on local disk. */
  path: string;
  /** File name (no directory), as served under `/<app>/streams/` or `/<app>/previews/`. */
  name: string;
  /** Size in bytes when the recording completed. */
  size: number;
}

export interface VideoInfo {
  codec: string;
  width: number;
  height: number;
  /** Frames per second, when known. */
  fps?: number;
}

export interface AudioInfo {
  codec: string;
  sampleRate?: number;
  channels?: number;
}

/**
 * One MP4 part of a recording (`recordSegmentSeconds`): consecutive parts tile
 * the recording's media timeline with no gap or overlap. Its wall-clock times
 * are the recording's start plus media timestamps, not file times.
 */
export interface RecordedPart {
  /** 1, 2, … in time order. */
  part: number;
  /** File name (`<name>_p0001.mp4`, or `<name>.mp4` for a recording of one part). */
  name: string;
  /** Absolute path on local disk (it may be gone once uploaded in primary mode). */
  path: string;
  size: number;
  /** ISO 8601 UTC wall-clock start. */
  startedAt: string;
  /** ISO 8601 UTC wall-clock end. */
  endedAt: string;
  durationSeconds: number;
  /** Seconds from the recording's start to the part's first frame. */
  offsetSeconds: number;
}

/** A part of a recording still in progress is final on local disk (remuxed, probed). */
export interface RecordingPartCompleted {
  recordingId: string;
  app: string;
  streamId: string;
  protocol: Protocol;
  /** The recording's name (its parts are `<name>_p0001.mp4` …). */
  name: string;
  /** The recording's start, ISO 8601 UTC. */
  startedAt: string;
  part: RecordedPart;
  video?: VideoInfo;
  audio?: AudioInfo;
}

/** The HLS of a recording in progress gained closed segments (`hlsLiveUpload`). */
export interface RecordingHlsProgress {
  recordingId: string;
  app: string;
  streamId: string;
  protocol: Protocol;
  name: string;
  startedAt: string;
  /** The live (EVENT) playlist on local disk. */
  playlist: string;
  /** Every closed segment listed so far, in order. */
  segments: RecordedFile[];
}

/** A recording's files are final: nothing will be written to them again. */
export interface RecordingCompleted {
  /** Unique id of this recording (also the `{recordingId}` key-template token). */
  recordingId: string;
  app: string;
  streamId: string;
  protocol: Protocol;
  /** Base name shared by the recording's files: `<streamId>_<UTC start>`. */
  name: string;
  /** ISO 8601 UTC. */
  startedAt: string;
  /** ISO 8601 UTC. */
  endedAt: string;
  durationSeconds: number;
  /** Total bytes of all files. */
  sizeBytes: number;
  video?: VideoInfo;
  audio?: AudioInfo;
  /** Every file of the recording. */
  files: RecordedFile[];
  /** True when the recording was finalized at start-up after a crash. */
  recovered: boolean;
  /** Its MP4 parts in time order (one for a recording not split); also listed in `files`. */
  parts?: RecordedPart[];
}

export interface StreamStarted {
  app: string;
  streamId: string;
  protocol: Protocol;
  sessionId: string;
  remoteAddress: string;
  startedAt: string;
}

export interface StreamEnded extends StreamStarted {
  endedAt: string;
  /** Why it ended: `publisher closed`, `kicked`, `shutdown`, `idle timeout` … */
  reason: string;
}

/** A publisher was refused, whatever the protocol (a publisher refused for its credential is told only `unauthorized`; this says why). */
export interface StreamRefused {
  app: string;
  streamId: string;
  protocol: Protocol;
  remoteAddress: string;
  /** `bad_stream_id`, `unknown_app`, `unauthorized`, `stream_busy`, `shutting_down`, `insufficient_storage`, `too_many_publishers`. */
  code: string;
  /** Why, in plain words (never the credential). */
  reason: string;
  /** ISO 8601 UTC. */
  refusedAt: string;
}

export interface RecordingStarted {
  recordingId: string;
  app: string;
  streamId: string;
  /** The publisher session it records (as in `stream.started`). */
  sessionId: string;
  protocol: Protocol;
  name: string;
  startedAt: string;
}

/** Which file of which recording an upload event is about. */
export interface UploadSubject {
  app: string;
  recordingId: string;
  streamId: string;
  kind: FileKind;
  /** File name, as served under `/<app>/streams/` or `/<app>/previews/`. */
  name: string;
  bucket: string;
  key: string;
}

/** Bytes of one file sent so far (throttled; the last one has `loaded === total`). */
export interface UploadProgress extends UploadSubject {
  loaded: number;
  total: number;
}

/** A file is in the bucket and verified. */
export interface UploadCompleted extends UploadSubject {
  size: number;
  /** SHA-256 (hex) of the file (also the object's `x-amz-meta-sha256` when it went up in one PUT). */
  sha256: string;
  etag: string;
  /** Object URL (path-style for custom endpoints). */
  url: string;
  /** How the upload was confirmed: a HEAD of the object, or the upload response when HEAD is not allowed. */
  verifiedBy: 'head' | 'upload-response';
  /** True when the local copy was deleted (primary mode). */
  localDeleted: boolean;
}

/** An upload attempt failed. */
export interface UploadFailed extends UploadSubject {
  /** `retryable` errors are retried with backoff; `permanent` ones wait for a settings change or a retry request. */
  errorClass: 'retryable' | 'permanent';
  /** Stable code, e.g. `access_denied`, `bucket_not_found`, `wrong_region`, `unreachable`. */
  code: string;
  /** What went wrong and what to do, in plain words. */
  message: string;
  attempts: number;
  /** ISO 8601 time of the next attempt, for retryable errors. */
  nextAttemptAt?: string;
}

/** All events on the bus, by name. Later modules add theirs here. */
export interface BusEvents {
  'stream.started': StreamStarted;
  'stream.ended': StreamEnded;
  'stream.refused': StreamRefused;
  'recording.started': RecordingStarted;
  'recording.completed': RecordingCompleted;
  'recording.part': RecordingPartCompleted;
  'recording.hls': RecordingHlsProgress;
  // storage (src/storage)
  'upload.progress': UploadProgress;
  'upload.completed': UploadCompleted;
  'upload.failed': UploadFailed;
  // sources and imports (src/sources)
  'source.state': SourceStateChanged;
  'import.progress': ImportProgress;
}

/** A source (src/sources) changed state: connecting, live, failed (with its last error), idle, disabled. */
export interface SourceStateChanged {
  app: string;
  streamId: string;
  state: string;
  lastError: string | null;
  /** ISO 8601 time of the change. */
  at: string;
}

/** An import (`POST /applications/<app>/imports`) advanced: `reading` with its fraction, then `recorded`, `completed` or `failed`. */
export interface ImportProgress {
  importId: string;
  app: string;
  streamId: string;
  state: 'reading' | 'recorded' | 'completed' | 'failed';
  /** Seconds of media read so far. */
  seconds: number;
  /** The file's duration, when ffmpeg knows it. */
  durationSeconds: number | null;
  /** 0–1, when the duration is known. */
  progress: number | null;
  recordingId: string | null;
  error: string | null;
}
