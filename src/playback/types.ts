/**
 * What the playback module needs from the rest of the server, declared here
 * as small interfaces (implemented by the catalog and the storage module,
 * wired in `main.ts`), so playback imports neither.
 */
import type { PartLocation, RecordingSummary, RecordingWithFiles } from '../db/types.js';

/** The wall-clock index: parts and recordings of a stream by time. */
export interface PlaybackIndex {
  /** Parts whose span overlaps [from, to), in time order, with where their files are. */
  partsBetween(app: string, streamId: string, from: string, to: string): Promise<PartLocation[]>;
  /** Recordings of a stream that overlap [from, to) (newest first). */
  listRecordings(filter: { app: string; streamId: string; from: string; to: string; limit?: number }): Promise<RecordingSummary[]>;
  getRecording(recordingId: string): Promise<RecordingWithFiles | undefined>;
}

/** Read access to uploaded objects (the storage module). */
export interface ObjectReader {
  /** A URL ffmpeg and `fetch` can GET the object from (pre-signed, valid for a few minutes), or the absolute path of its file (a filesystem target). */
  readUrl(app: string, bucket: string, key: string): Promise<string>;
}
