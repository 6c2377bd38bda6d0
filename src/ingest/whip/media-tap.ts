/**
 * The media of one WHIP session as its recorders see it: every RTP packet of
 * the recorded tracks and the latest RTCP sender report per track, plus the
 * cache a recorder starts from (gop-cache.ts, the same as RTMP's: the preroll
 * for the first recorder, the current GOP afterwards; WHIP cannot hold its
 * publisher, so a full preroll falls back to the GOP at once). Video passes
 * frame by frame (frame-gate.ts): a frame the publisher never finished is not
 * recorded.
 */
import type { ChosenTrack, TrackKind } from './offer.js';
import { isKeyframeStart, type VideoCodecName } from './keyframe.js';
import { GopCache } from '../gop-cache.js';
import { FrameGate, rtpMarker } from './frame-gate.js';

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

export class MediaTap {
  private readonly gop: GopCache<TapPacket>;
  private lastKeyframeTs: number | null = null;
  private readonly reports = new Map<TrackKind, Buffer>();
  private readonly readers = new Set<TapReader>();
  private ended = false;
  private readonly videoGate = new FrameGate<{ timestamp: number; marker: boolean; packet: TapPacket }>((g) => this.pass(g.packet));
  /** Packets of an unfinished last frame left out at the end (tests, logs). */
  droppedAtEnd = 0;

  constructor(
    /** The negotiated tracks. */
    readonly tracks: readonly ChosenTrack[],
  ) {
    this.gop = new GopCache<TapPacket>({ withData: (p, data) => ({ kind: p.kind, data, keyframe: p.keyframe, at: p.at }), video: !!this.video });
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
    let keyframe = false;
    const video = this.video;
    if (kind === 'video' && video && isKeyframeStart(video.codec as VideoCodecName, payload) && timestamp !== this.lastKeyframeTs) {
      keyframe = true;
      this.lastKeyframeTs = timestamp;
    }
    const packet: TapPacket = { kind, data, keyframe, at: Date.now() };
    if (kind === 'video') this.videoGate.add({ timestamp, marker: rtpMarker(data), packet });
    else this.pass(packet);
  }

  private pass(packet: TapPacket): void {
    // The cache keeps its own copy; readers get the packet itself.
    this.gop.add(packet, packet.keyframe);
    for (const r of this.readers) r.rtp(packet);
  }

  /** Takes an RTCP sender report (serialized) of a recorded track. */
  senderReport(kind: TrackKind, data: Buffer): void {
    if (this.ended) return;
    this.reports.set(kind, data);
    for (const r of this.readers) r.senderReport(kind, data);
  }

  /** Resolves once a recorder can start: at the first video keyframe, after the cache's audio-only wait, or at the end. */
  ready(): Promise<void> {
    return this.gop.ready();
  }

  /**
   * Adds a reader: it first gets the latest sender reports and the cache, then
   * every new packet, until `removeReader` or the end of the session.
   */
  addReader(reader: TapReader): void {
    for (const [kind, data] of this.reports) reader.senderReport(kind, data);
    // A reader sends later (a paced queue): cached packets are copied, their bytes are reused at the next keyframe.
    for (const p of this.gop.open()) reader.rtp({ ...p, data: Buffer.from(p.data) });
    if (this.ended) reader.end();
    else this.readers.add(reader);
  }

  removeReader(reader: TapReader): void {
    this.readers.delete(reader);
  }

  /** The session is over: readers end, waiters wake. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.droppedAtEnd = this.videoGate.drop();
    this.gop.end();
    for (const r of [...this.readers]) r.end();
    this.readers.clear();
  }

  get isEnded(): boolean {
    return this.ended;
  }
}
