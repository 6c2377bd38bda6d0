/** What the bench needs of a server under test; bucketcast and nginx-rtmp both provide it. */

/** What a server kept of one stream. */
export interface Recorded {
  /** Seconds of media in the stream's recording files (ffprobe), summed over its files. */
  seconds: number;
  /** How many recording files the stream produced (1 expected). */
  files: number;
}

export interface BenchTarget {
  /** Row label in the table. */
  readonly label: string;
  /** Pids whose process trees are "the server" (children included, e.g. ffmpeg). */
  roots(): number[];
  /** RTMP publish URL of a stream. */
  publishUrl(streamId: string): string;
  /**
   * Called once every publisher has left: resolves when every recording is
   * final on disk, and the server has exited.
   */
  finish(streamIds: string[]): Promise<void>;
  /** Recorded seconds of each stream. */
  recorded(streamIds: string[]): Promise<Map<string, Recorded>>;
  /** What else the server wrote (HLS segments, previews), as a short text: shows both did the same work. */
  outputs(): string;
  /** Warnings and errors the server logged. */
  problems(): string[];
  /** Kills the server at once and removes its temp dir (the bench is interrupted). */
  abort(): void;
  /** Stops the server if still running and removes its temp dir (unless `keep`). */
  dispose(keep?: boolean): Promise<void>;
}
