/**
 * The media of one WHIP session as its recorders see it: every RTP packet of
 * the recorded tracks and the latest RTCP sender report per track, plus a cache
 * to start a recorder from.
 *
 * Like the RTMP feed, the cache holds everything from the session's first
 * keyframe until the first recorder opens (so the first recording starts with
 * the stream, however long ffmpeg takes to start), and afterwards the current
 * GOP (so a recording restarted mid-stream starts at a keyframe). Nothing before
 * the first video keyframe is kept: it could not be decoded.
 */
import type { ChosenTrack, TrackKind } from './offer.js';
import { isKeyframeStart, type VideoCodecName } from './keyframe.js';

/** One RTP packet as forwarded. */
export interface TapPacket {
  kind: TrackKind;
  /** The serialized RTP packet. */
  data: Buffer;
  /** First packet of a video keyframe. */
  keyframe: boolean;
  /** Arrival time (epoch ms). */
  at: number;
}

/** What a recorder's feed receives from the tap. */
export interface TapReader {
  rtp(p: TapPacket): void;
  senderReport(kind: TrackKind, data: Buffer): void;
  /** The session is over. */
  end(): void;
}

/** Cache kept before the first recorder opens (bytes); past it only the current GOP is kept. */
const PREROLL_LIMIT = 32 * 1024 * 1024;
/** A GOP larger than this (no keyframes: PLI ignored) is not cached; new recorders wait for a keyframe. */
const GOP_LIMIT = 24 * 1024 * 1024;

export class MediaTap {
  private cache: TapPacket[] = [];
  private cacheBytes = 0;
  /** False until a keyframe starts the cache (always true for audio-only sessions). */
  private cacheValid: boolean;
  private everOpened = false;
  private lastKeyframeTs: number | null = null;
  private readonly reports = new Map<TrackKind, Buffer>();
  private readonly readers = new Set<TapReader>();
  private readonly waiters: Array<() => void> = [];
  private ended = false;
  private firstPacketAt = 0;
  private sawKeyframe = false;

  constructor(
    /** The negotiated tracks. */
    readonly tracks: readonly ChosenTrack[],
  ) {
    this.cacheValid = !this.video;
  }

  get video(): ChosenTrack | undefined {
    return this.tracks.find((t) => t.kind === 'video');
  }

  get audio(): ChosenTrack | undefined {
    return this.tracks.find((t) => t.kind === 'audio');
  }

  /** Takes one RTP packet of a recorded track. */
  rtp(kind: TrackKind, timestamp: number, payload: Buffer, data: Buffer): void {
    if (this.ended) return;
    if (this.firstPacketAt === 0) this.firstPacketAt = Date.now();
    let keyframe = false;
    const video = this.video;
    if (kind === 'video' && video && isKeyframeStart(video.codec as VideoCodecName, payload) && timestamp !== this.lastKeyframeTs) {
      keyframe = true;
      this.lastKeyframeTs = timestamp;
      this.sawKeyframe = true;
      // Before the first recorder: keep everything since the first keyframe (bounded).
      if (this.everOpened || !this.cacheValid || this.cacheBytes > PREROLL_LIMIT) this.clearCache();
      this.cacheValid = true;
    }
    const packet: TapPacket = { kind, data, keyframe, at: Date.now() };
    if (this.cacheValid) {
      this.cache.push(packet);
      this.cacheBytes += data.length;
      if (this.everOpened && this.cacheBytes > GOP_LIMIT) {
        this.clearCache();
        this.cacheValid = false;
      }
    }
    for (const r of this.readers) r.rtp(packet);
    this.wake();
  }

  /** Takes an RTCP sender report (serialized) of a recorded track. */
  senderReport(kind: TrackKind, data: Buffer): void {
    if (this.ended) return;
    this.reports.set(kind, data);
    for (const r of this.readers) r.senderReport(kind, data);
  }

  /**
   * Resolves once a recorder can start: at the first video keyframe, after
   * `audioOnlyMs` of audio when there is no video, or when the session ends.
   */
  ready(audioOnlyMs = 1000): Promise<void> {
    if (this.isReady(audioOnlyMs)) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setInterval(() => this.wake(audioOnlyMs), 100);
      this.waiters.push(() => {
        clearInterval(timer);
        resolve();
      });
    });
  }

  private isReady(audioOnlyMs = 1000): boolean {
    if (this.ended) return true;
    if (this.video) return this.sawKeyframe;
    return this.firstPacketAt > 0 && Date.now() - this.firstPacketAt >= audioOnlyMs;
  }

  private wake(audioOnlyMs?: number): void {
    if (this.waiters.length === 0 || !this.isReady(audioOnlyMs)) return;
    for (const w of this.waiters.splice(0)) w();
  }

  /**
   * Adds a reader: it first gets the latest sender reports and the cache, then
   * every new packet, until `removeReader` or the end of the session.
   */
  addReader(reader: TapReader): void {
    this.everOpened = true;
    for (const [kind, data] of this.reports) reader.senderReport(kind, data);
    for (const p of this.cache) reader.rtp(p);
    if (this.ended) reader.end();
    else this.readers.add(reader);
  }

  removeReader(reader: TapReader): void {
    this.readers.delete(reader);
  }

  private clearCache(): void {
    this.cache = [];
    this.cacheBytes = 0;
  }

  /** The session is over: readers end, waiters wake. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.clearCache();
    for (const r of [...this.readers]) r.end();
    this.readers.clear();
    for (const w of this.waiters.splice(0)) w();
  }

  get isEnded(): boolean {
    return this.ended;
  }
}
