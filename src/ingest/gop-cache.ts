/**
 * The packets a new recorder starts from, for every ingest (RTMP's FLV tags, WHIP's RTP packets): one cache, one
 * set of limits.
 *
 * Before the first reader opens, everything since the stream's first packet is kept (the preroll: the first
 * recording starts with the stream, however long ffmpeg takes to start; video before the first keyframe is skipped
 * by the reader or its demuxer, audio before it is recorded); afterwards the current GOP (a recording restarted
 * mid-stream starts at a keyframe). A preroll past PREROLL_LIMIT holds the publisher where its ingest can
 * (`holdPublisher`: TCP pushes back) for up to PREROLL_HOLD_MS, then the next keyframe restarts the cache; a GOP
 * past GOP_LIMIT once a reader opened (keyframes lost, PLI ignored), or a preroll that found no keyframe for as long
 * again, is dropped, and new readers wait for the next keyframe.
 *
 * The cached bytes are copies in a PacketArena (no buffer of their own per packet, so none reaches V8's old space):
 * a replayed packet is valid until the next keyframe, and a reader that keeps one longer (an asynchronous send)
 * must copy it.
 *
 * Modelled on LiveKit ingress's preroll buffer; the readiness rule (a keyframe, or AUDIO_ONLY_MS of packets without
 * video) is what lets a recorder know its tracks before it starts.
 */
import { PacketArena } from './packet-arena.js';

/** Bytes kept before the first reader opens; past it (and the hold) only the current GOP is kept. */
export const PREROLL_LIMIT = 48 * 1024 * 1024;
/** A GOP cached once a reader opened stops being cached past this many bytes. */
export const GOP_LIMIT = 24 * 1024 * 1024;
/** How long a full preroll holds the publisher waiting for the first reader (no recorder is coming past it). */
const PREROLL_HOLD_MS = 15_000;
/** Milliseconds of packets without video after which a stream counts as audio-only and a recorder may start. */
export const AUDIO_ONLY_MS = 2500;

/** A cached packet: its bytes and when they arrived (epoch ms). */
export interface CachedPacket {
  data: Buffer;
  at: number;
}

export interface GopCacheOptions<P extends CachedPacket> {
  /** The packet with its bytes replaced by the cache's copy. */
  withData(p: P, data: Buffer): P;
  /** Video is known to come (WHIP: negotiated); else it is known once `sawVideo` is called. */
  video?: boolean;
  /** Holds and releases the publisher (TCP ingests); without it a full preroll falls back to the GOP at once. */
  holdPublisher?: { hold(): void; release(): void };
}

export class GopCache<P extends CachedPacket> {
  private packets: P[] = [];
  private bytes = 0;
  /**
   * Whether packets are cached: from the first packet (a reader skips what it cannot start with), and again from
   * the next keyframe after a GOP overran its limit.
   */
  private valid = true;
  private everOpened = false;
  private video: boolean;
  private sawKeyframe = false;
  private firstPacketAt = 0;
  private ended = false;
  private readonly arena = new PacketArena();
  private readonly waiters: Array<() => void> = [];
  private waitTimer: NodeJS.Timeout | null = null;
  private holding = false;
  private holdTimer: NodeJS.Timeout | null = null;
  private prerollExpired = false;

  constructor(private readonly options: GopCacheOptions<P>) {
    this.video = !!options.video;
  }

  /** The stream has video (its sequence header came): readiness waits for a keyframe. */
  sawVideo(): void {
    this.video = true;
  }

  /** Takes one packet; `keyframe` for the first packet of a video keyframe (a new GOP). */
  add(p: P, keyframe: boolean): void {
    if (this.ended) return;
    if (this.firstPacketAt === 0) this.firstPacketAt = p.at;
    if (keyframe) {
      this.sawKeyframe = true;
      // A new GOP restarts the cache once a reader has the preroll, or once a full preroll no longer holds.
      if (this.everOpened || !this.valid || (this.bytes > PREROLL_LIMIT && !this.holding)) this.clear();
      this.valid = true;
    }
    if (this.valid) {
      const kept = this.options.withData(p, this.arena.keep(p.data));
      this.packets.push(kept);
      this.bytes += kept.data.length;
      if (this.bytes > (this.everOpened ? GOP_LIMIT : PREROLL_LIMIT + GOP_LIMIT)) {
        // No keyframe for this long: new readers wait for the next one.
        this.clear();
        this.valid = false;
      } else if (!this.everOpened && this.bytes > PREROLL_LIMIT) {
        this.prerollFull();
      }
    }
    this.wake();
  }

  /** The first recorder is still starting: hold the publisher rather than drop the start of the stream. */
  private prerollFull(): void {
    const h = this.options.holdPublisher;
    if (!h || this.holding || this.prerollExpired) return;
    this.holding = true;
    h.hold();
    this.holdTimer = setTimeout(() => {
      this.prerollExpired = true;
      this.endHold();
    }, PREROLL_HOLD_MS);
    this.holdTimer.unref();
  }

  private endHold(): void {
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = null;
    if (!this.holding) return;
    this.holding = false;
    this.options.holdPublisher?.release();
  }

  /**
   * A reader opens: the packets to replay to it (views valid until the next keyframe). From now on only the current
   * GOP is kept, and a full preroll no longer holds the publisher.
   */
  open(): readonly P[] {
    this.everOpened = true;
    this.endHold();
    return this.packets;
  }

  /** Resolves once a recorder can start: at the first keyframe, after AUDIO_ONLY_MS of packets without video, or at the end. */
  ready(): Promise<void> {
    if (this.isReady()) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.armWait();
    });
  }

  private isReady(): boolean {
    if (this.ended || this.sawKeyframe) return true;
    return !this.video && this.firstPacketAt > 0 && Date.now() - this.firstPacketAt >= AUDIO_ONLY_MS;
  }

  /** Waiters on an audio-only stream are woken by time, not by a packet. */
  private armWait(): void {
    if (this.waitTimer || this.waiters.length === 0) return;
    const left = this.firstPacketAt > 0 ? this.firstPacketAt + AUDIO_ONLY_MS - Date.now() : AUDIO_ONLY_MS;
    this.waitTimer = setTimeout(() => {
      this.waitTimer = null;
      this.wake();
      this.armWait();
    }, Math.max(10, left));
  }

  private wake(): void {
    if (this.waiters.length === 0 || !this.isReady()) return;
    if (this.waitTimer) clearTimeout(this.waitTimer);
    this.waitTimer = null;
    for (const w of this.waiters.splice(0)) w();
  }

  private clear(): void {
    this.packets = [];
    this.bytes = 0;
    this.arena.reset();
  }

  /** The stream is over: the cache is freed, waiters wake, a hold ends. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.endHold();
    this.clear();
    this.arena.release();
    this.wake();
  }
}
