/**
 * A recorder's FLV input: the byte stream a feed opened for one recorder (flv-feed.ts), piped to ffmpeg's stdin.
 * RTMP publishers and pulled sources are recorded from it.
 */
import type { Readable } from 'node:stream';
import type { FeedInput, FeedTarget, MediaFeed } from '../types.js';

/** Video codecs an MP4 carries as they come in FLV (enhanced RTMP brings AV1 and VP9). */
const FLV_MP4_VIDEO: ReadonlySet<string> = new Set(['h264', 'hevc', 'av1', 'vp9']);

export interface FlvTracks {
  hasVideo: boolean;
  hasAudio: boolean;
  videoCodec?: string;
  audioCodec?: string;
}

export class FlvInput implements MediaFeed {
  readonly hasVideo: boolean;
  readonly hasAudio: boolean;
  readonly videoCodec?: string;
  readonly audioCodec?: string;
  readonly mp4VideoCodecs = FLV_MP4_VIDEO;
  readonly keyframeDecoding = true;
  private stdin: NodeJS.WritableStream | null = null;

  constructor(
    /** The FLV bytes; ending it ends ffmpeg's input. */
    readonly stream: Readable,
    tracks: FlvTracks,
    private readonly startedAt: () => number | undefined = () => undefined,
  ) {
    this.hasVideo = tracks.hasVideo;
    this.hasAudio = tracks.hasAudio;
    this.videoCodec = tracks.videoCodec;
    this.audioCodec = tracks.audioCodec;
  }

  mediaStartedAt(): number | undefined {
    return this.startedAt();
  }

  input(): FeedInput {
    return { options: ['-f', 'flv'] };
  }

  attach(target: FeedTarget): void {
    // A stream that fails (cut off, destroyed) ends ffmpeg as a stop would.
    this.stream.on('error', () => target.abort());
    if (this.stream.destroyed || !target.stdin) return target.abort();
    this.stdin = target.stdin;
    this.stream.pipe(target.stdin);
  }

  queuedBytes(): number {
    const stdin = this.stdin as (NodeJS.WritableStream & { writableLength?: number }) | null;
    return this.stream.readableLength + (stdin?.writableLength ?? 0);
  }

  end(): void {
    if (!this.stream.destroyed) (this.stream as Readable & { end?: () => void }).end?.();
  }

  close(): void {
    this.stream.destroy();
  }
}
