/**
 * What the ingest servers (RTMP, WHIP) share: a publish request, the decision
 * on it, and a live publisher session as the rest of the server sees it.
 */
import type { Protocol } from '../events/types.js';
import type { Readable } from 'node:stream';

export interface PublishRequest {
  app: string;
  streamId: string;
  protocol: Protocol;
  remoteAddress: string;
  /** The publish credential: RTMP `?token=`, WHIP `Authorization: Bearer`. */
  token?: string;
}

export type RefusalCode = 'bad_stream_id' | 'unknown_app' | 'unauthorized' | 'stream_busy' | 'shutting_down' | 'insufficient_storage' | 'too_many_publishers';

export type PublishDecision = { ok: true } | { ok: false; code: RefusalCode; reason: string };

/** Decides whether a publish may go ahead (stream id rules, app, credentials). */
export interface PublishAuthorizer {
  authorize(req: PublishRequest): PublishDecision | Promise<PublishDecision>;
}

/** Live figures of a publisher, for the API and metrics. */
export interface StreamStats {
  videoCodec?: string;
  audioCodec?: string;
  width?: number;
  height?: number;
  fps?: number;
  /** Bytes received from the publisher so far. */
  bytesIn: number;
  /** Average ingest bitrate over the last few seconds, bits per second. */
  bitrate: number;
}

/**
 * Media for a recorder. RTMP hands over an FLV byte stream; WHIP an SDP
 * description of RTP it forwards to the recorder.
 */
export type MediaFeed =
  | {
      format: 'flv';
      stream: Readable;
      hasVideo: boolean;
      hasAudio: boolean;
      videoCodec?: string;
      audioCodec?: string;
      /** Arrival time (epoch ms) of the packet at the recorder's time 0; undefined until it was handed over. */
      mediaStartedAt(): number | undefined;
    }
  | {
      format: 'sdp';
      /** Arrival time (epoch ms) of the packet at the recorder's time 0; undefined until it was handed over. */
      mediaStartedAt(): number | undefined;
      /** SDP for ffmpeg (`-f sdp`) describing the forwarded RTP. */
      sdp: string;
      hasVideo: boolean;
      hasAudio: boolean;
      videoCodec?: string;
      audioCodec?: string;
      /** Begins forwarding once the ffmpeg process `ffmpegPid` listens on the SDP's ports. */
      start(ffmpegPid?: number): void;
      /** Ends ffmpeg's input like the end of a file (RTCP BYE on every stream), whether or not RTP still flows. */
      end(): void;
      /** Stops forwarding and frees the ports (ffmpeg exited). */
      close(): void;
    };

/** A live publisher, whatever its protocol. */
export interface PublisherSession {
  readonly id: string;
  readonly app: string;
  readonly streamId: string;
  readonly protocol: Protocol;
  readonly remoteAddress: string;
  readonly startedAt: Date;
  /** Opens a feed of the stream for a recorder, from the next (or cached) keyframe. */
  openMedia(): Promise<MediaFeed>;
  stats(): StreamStats;
  /** Ends the session (kick, shutdown). */
  close(reason: string): void;
  /** Resolves with the reason once the publisher is gone. */
  readonly closed: Promise<string>;
}
