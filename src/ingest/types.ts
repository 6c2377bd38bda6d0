/**
 * What the ingest servers (RTMP, WHIP) share: a publish request, the decision
 * on it, and a live publisher session as the rest of the server sees it.
 */
import type { Protocol } from '../events/types.js';
import type { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../log/logger.js';

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

/** How a recorder's ffmpeg reads a feed. */
export interface FeedInput {
  /** ffmpeg options before `-i`: the input format and its demuxer's settings. */
  options: string[];
  /**
   * A description ffmpeg reads the input from (an SDP naming the ports RTP arrives on): written beside the recording
   * before ffmpeg starts and named by `-i`. Without one the media itself comes on ffmpeg's stdin (`-i pipe:0`).
   */
  descriptor?: string;
}

/** A started recorder ffmpeg, as its feed sees it. */
export interface FeedTarget {
  pid?: number;
  /** ffmpeg's stdin (a feed without a descriptor is piped there). */
  stdin?: NodeJS.WritableStream | null;
  /** Ends ffmpeg as a stop would, trailers written: the feed failed or was destroyed. */
  abort(): void;
}

/**
 * Media for a recorder, whatever the ingest: RTMP and pulled sources hand ffmpeg an FLV byte stream on its stdin
 * (`FlvInput`), WHIP forwards RTP that ffmpeg reads by an SDP (`RtpFeed`). The recording module sees only this.
 */
export interface MediaFeed {
  readonly hasVideo: boolean;
  readonly hasAudio: boolean;
  readonly videoCodec?: string;
  readonly audioCodec?: string;
  /** Video codecs ffmpeg copies from this input into MP4 as they are; others are transcoded (or kept in WebM). */
  readonly mp4VideoCodecs: ReadonlySet<string>;
  /** Whether ffmpeg may decode only keyframes (`-skip_frame nokey`) when it transcodes nothing: previews need no more. */
  readonly keyframeDecoding: boolean;
  /** Arrival time (epoch ms) of the packet at the recorder's time 0; undefined until it was handed over. */
  mediaStartedAt(): number | undefined;
  /** How ffmpeg reads this feed. */
  input(): FeedInput;
  /** Hands the feed to its started ffmpeg: piped to its stdin, or forwarded once the process listens. */
  attach(target: FeedTarget): void;
  /** Input bytes waiting here for ffmpeg to take them (0 where the input does not queue here). */
  queuedBytes(): number;
  /** Ends the input like the end of a file: ffmpeg finishes its outputs once it has read what came before. */
  end(): void;
  /** Releases the feed: ffmpeg exited, or never started. Safe to call twice. */
  close(): void;
}

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

/** Where every ingest claims a stream for a publisher and gives it back (the stream registry). */
export interface PublishRegistry {
  claim(req: PublishRequest, session: PublisherSession): Promise<PublishDecision>;
  release(session: PublisherSession, reason: string): void;
}

/** Caps on clients at once, globally and per address (src/limits/connection-limiter.ts). */
export interface ClientLimits {
  /** Takes a place for `address`; returns its release (call once), or which cap refused. */
  acquire(address: string): { ok: true; release: () => void } | { ok: false; scope: string };
}

/** What every ingest server is built from: `new RtmpServer({ settings, registry, log, limits })`, the same for WHIP. */
export interface IngestServerOptions<Settings> {
  /** RTMP: its listener (address, port, idle timeout, TLS); WHIP: the `whip` section of the configuration. */
  settings: Settings;
  /** Where publishes are claimed and released (one registry for every ingest). */
  registry: PublishRegistry;
  log: Logger;
  /** Caps clients at once (RTMP: connections, WHIP: sessions); a refused one is turned away at once. */
  limits?: ClientLimits;
}

/** What every ingest server offers the rest of the server. */
export interface IngestServer extends Lifecycle {
  /** Its live publisher sessions. */
  list(): PublisherSession[];
  /** Ends every client's session and resolves once they are gone; the server keeps accepting until `stop`. */
  closeAll(reason: string): Promise<void>;
}
