/**
 * Turns the RTMP messages of one publisher into FLV byte streams for recorders.
 *
 * Design note: a recorder that opens the feed gets the FLV header, the metadata
 * and codec sequence headers, then the cached packets (gop-cache.ts: the preroll
 * for the first recorder, the current GOP afterwards), then live packets. Each
 * reader's timestamps are rebased to start at 0.
 *
 * Flow control: a publisher may send faster than real time (a file pushed
 * without `-re`, an encoder's burst after a network stall). A reader that falls
 * behind is never cut off (that would lose the recording): while any reader's
 * buffer is full, or while the preroll cache is full and no reader has opened
 * yet, the feed asks its owner to stop reading the publisher's socket, so TCP
 * pushes back on the publisher until the recorder catches up.
 */
import { PassThrough, type Readable } from 'node:stream';
import { Amf0Reader } from './amf0.js';
import { BitrateMeter } from '../bitrate-meter.js';
import { GopCache } from '../gop-cache.js';
import type { MediaFeed, StreamStats } from '../types.js';
import { FlvInput } from './flv-input.js';

const AUDIO = 8;
const VIDEO = 9;
const SCRIPT = 18;

/**
 * Bytes a reader may have buffered before the publisher is paused (its recorder reads slower than the
 * publisher sends). Large enough that a recorder starting slowly on a loaded machine (seconds) does not
 * stall a live encoder (20 s of a 3 Mbit/s stream); small enough to bound memory per stream.
 */
const READER_HIGH_WATER = 8 * 1024 * 1024;
/**
 * How long tags wait to go to the recorders together. Profiled (`bench:ingest`, N=16): node's share was the
 * pipe writes to each recorder's stdin, the allocation and copy of each write and the garbage they left,
 * once per socket read (~80 a second for a 3 Mbit/s stream). Written every 100 ms instead, a recorder gets
 * ~10 writes a second; a SIGKILL can lose 0.1 s more of what was not yet written, far under the last
 * fragment's 0.5 s.
 */
const FLUSH_MS = 100;
/** Queued bytes past which a reader's tags are written at the next turn, not the next tick (a fast publisher). */
const FLUSH_BYTES = 256 * 1024;

interface Tag {
  type: number;
  dts: number;
  data: Buffer;
  /** Arrival time (epoch ms). */
  at: number;
}

export interface FeedInfo {
  hasVideo: boolean;
  hasAudio: boolean;
  videoCodec?: string;
  audioCodec?: string;
  width?: number;
  height?: number;
  fps?: number;
}

interface Reader {
  out: PassThrough;
  base: number | null;
  /** Arrival time of the tag at the reader's time 0 (its first audio/video tag), once written. */
  firstAt: number | null;
  /** Tags waiting for this turn's single write, with their rebased timestamps. */
  queue: Tag[];
  queueDts: number[];
  queueBytes: number;
}

/** Lets the feed slow its publisher down: the owner stops and restarts reading the publisher's input. */
export interface FlowControl {
  pause(): void;
  resume(): void;
}

/** The marker under which a full preroll cache holds the publisher (readers hold it under their own entry). */
const PREROLL_HOLD = Symbol('preroll');

export class FlvFeed {
  private metadata: Tag | null = null;
  private audioHeader: Tag | null = null;
  private videoHeader: Tag | null = null;
  /** What a new reader starts from; a full preroll holds the publisher like a full reader. */
  private readonly gop = new GopCache<Tag>({
    withData: (t, data) => ({ type: t.type, dts: t.dts, data, at: t.at }),
    holdPublisher: { hold: () => this.hold(PREROLL_HOLD), release: () => this.release(PREROLL_HOLD) },
  });
  private readonly readers = new Set<Reader>();
  private readonly info: FeedInfo = { hasVideo: false, hasAudio: false };
  private ended = false;
  private flushTimer: NodeJS.Timeout | null = null;
  private flushSoon = false;
  /** What currently holds the publisher back: readers with a full buffer, or the full preroll cache. */
  private readonly holds = new Set<Reader | typeof PREROLL_HOLD>();
  readonly meter = new BitrateMeter();

  constructor(private readonly flow?: FlowControl) {}

  /**
   * Takes one RTMP media or metadata message (type 8 audio, 9 video, 18 `onMetaData`). `data` is
   * kept as it is: the caller must not reuse its memory.
   */
  push(type: number, dts: number, data: Buffer): void {
    if (this.ended) return;
    if (type !== AUDIO && type !== VIDEO && type !== SCRIPT) return;
    if (data.length === 0) return;
    const tag: Tag = { type, dts, data, at: Date.now() };
    this.meter.add(data.length);
    if (type === SCRIPT) {
      this.metadata = { ...tag, dts: 0, data: own(data) };
      this.readMetadata(data);
      this.broadcast(this.metadata);
      return;
    }
    if (type === AUDIO) {
      const format = data[0] >> 4;
      // AAC sequence header (legacy), or an enhanced-RTMP audio sequence start (format 9, packet type 0).
      const header = (format === 10 && data[1] === 0) || (format === 9 && (data[0] & 0x0f) === 0);
      if (!this.info.hasAudio || header) {
        this.info.hasAudio = true;
        this.info.audioCodec = audioCodecName(format === 9 && data.length >= 5 ? data.readUInt32BE(1) : format);
      }
      if (header) this.audioHeader = { ...tag, data: own(data) };
      else this.gop.add(tag, false);
      this.broadcast(tag);
      return;
    }
    const v = classifyVideo(data);
    if (v.kind === 'header') {
      this.videoHeader = { ...tag, data: own(data) };
      this.info.hasVideo = true;
      this.info.videoCodec = videoCodecName(v.codec);
      this.gop.sawVideo();
    } else if (v.kind === 'key' || v.kind === 'frame') {
      // The cache keeps its own copy: what goes to the readers is the message itself (see GopCache).
      this.gop.add(tag, v.kind === 'key');
    } else {
      return; // HDR metadata and other enhanced-RTMP side packets: not recorded
    }
    this.broadcast(tag);
  }

  private hold(by: Reader | typeof PREROLL_HOLD): void {
    if (this.holds.has(by)) return;
    this.holds.add(by);
    if (this.holds.size === 1) this.flow?.pause();
  }

  private release(by: Reader | typeof PREROLL_HOLD): void {
    if (!this.holds.delete(by)) return;
    if (this.holds.size === 0 && !this.ended) this.flow?.resume();
  }

  private readMetadata(data: Buffer): void {
    try {
      const r = new Amf0Reader(data);
      let v = r.read(); // "@setDataFrame" or "onMetaData"
      if (v === '@setDataFrame') r.read();
      v = r.read();
      const m = v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) ? v : {};
      if (typeof m.width === 'number') this.info.width = m.width;
      if (typeof m.height === 'number') this.info.height = m.height;
      if (typeof m.framerate === 'number') this.info.fps = m.framerate;
    } catch {
      // Metadata is advisory; a publisher sending broken AMF still gets recorded.
    }
  }

  /**
   * Resolves once it is known which tracks the stream has: at the first video
   * keyframe, or after the cache's audio-only wait without video.
   */
  async ready(): Promise<FeedInfo> {
    await this.gop.ready();
    return { ...this.info };
  }

  /** A recorder's input, once the tracks are known: what a publisher session's `openMedia` answers. */
  async media(): Promise<MediaFeed> {
    const info = await this.ready();
    const { stream, mediaStartedAt } = this.open();
    return new FlvInput(stream, info, mediaStartedAt);
  }

  /** What a publisher session's `stats` answers: the tracks, bytes in and bitrate. */
  stats(): StreamStats {
    const i = this.info;
    return { videoCodec: i.videoCodec, audioCodec: i.audioCodec, width: i.width, height: i.height, fps: i.fps, bytesIn: this.meter.bytes, bitrate: this.meter.bitsPerSecond() };
  }

  /**
   * Opens an FLV byte stream for a recorder, and tells when the packet at its
   * time 0 arrived (known at once when cached packets are replayed): the
   * wall-clock anchor of what the recorder writes.
   */
  open(): { stream: Readable; mediaStartedAt: () => number | undefined } {
    const reader: Reader = { out: new PassThrough({ highWaterMark: READER_HIGH_WATER }), base: null, firstAt: null, queue: [], queueDts: [], queueBytes: 0 };
    // Whoever consumes the stream may destroy it with an error; that must not become an uncaught exception.
    reader.out.on('error', () => undefined);
    reader.out.on('drain', () => this.release(reader));
    reader.out.once('close', () => this.dropReader(reader));
    this.put(reader, flvHeader(this.info.hasAudio, this.info.hasVideo));
    for (const t of [this.metadata, this.audioHeader, this.videoHeader]) if (t) this.put(reader, flvTag(t.type, 0, t.data));
    // The preroll did its job once the first reader has it: from now on only readers' buffers hold the publisher.
    // The cached packets are copied into this reader's write at once (they are valid until the next keyframe).
    for (const t of this.gop.open()) this.write(reader, t);
    this.flush(reader);
    if (this.ended) reader.out.end();
    else this.readers.add(reader);
    return { stream: reader.out, mediaStartedAt: () => reader.firstAt ?? undefined };
  }

  private dropReader(r: Reader): void {
    this.readers.delete(r);
    this.release(r);
  }

  private broadcast(tag: Tag): void {
    for (const r of this.readers) {
      if (r.out.writableEnded || r.out.destroyed) {
        // The recorder ended its input (stop recording); it gets nothing more.
        this.dropReader(r);
        continue;
      }
      this.write(r, tag);
    }
  }

  /**
   * Queues a tag for a reader. The queue goes out as one buffer every FLUSH_MS (`flush`; at the next turn past
   * FLUSH_BYTES): one write, one allocation and one copy of each payload, however many messages it held.
   */
  private write(r: Reader, tag: Tag): void {
    let dts = 0;
    if (tag.type !== SCRIPT) {
      if (r.base === null) {
        r.base = tag.dts;
        r.firstAt = tag.at;
      }
      dts = Math.max(0, tag.dts - r.base);
    }
    r.queue.push(tag);
    r.queueDts.push(dts);
    r.queueBytes += 15 + tag.data.length;
    if (r.queueBytes >= FLUSH_BYTES) {
      // A burst (a file pushed faster than real time): written at the next turn, so that a slow recorder's
      // full buffer holds the publisher back before much more is read.
      if (!this.flushSoon) {
        this.flushSoon = true;
        setImmediate(this.flushAll);
      }
    } else if (!this.flushTimer) {
      this.flushTimer = setTimeout(this.flushAll, FLUSH_MS);
    }
  }

  /** Writes what is queued now rather than at the next FLUSH_MS: the owner has just read a batch (a paced socket read). */
  flushNow(): void {
    if (this.flushTimer || this.flushSoon) this.flushAll();
  }

  private readonly flushAll = (): void => {
    this.flushSoon = false;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    for (const r of this.readers) this.flush(r);
  };

  private flush(r: Reader): void {
    if (r.queue.length === 0) return;
    const buf = Buffer.allocUnsafe(r.queueBytes);
    let off = 0;
    for (let i = 0; i < r.queue.length; i++) off = writeFlvTag(buf, off, r.queue[i].type, r.queueDts[i], r.queue[i].data);
    r.queue.length = 0;
    r.queueDts.length = 0;
    r.queueBytes = 0;
    if (!r.out.writableEnded && !r.out.destroyed) this.put(r, buf);
  }

  /** Writes to a reader; a full buffer holds the publisher back until the reader drains. */
  private put(r: Reader, chunk: Buffer): void {
    if (!r.out.write(chunk)) this.hold(r);
  }

  /** What is known of the stream's tracks. */
  get feedInfo(): FeedInfo {
    return { ...this.info };
  }

  /** The publisher is gone: every reader sees end-of-stream. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    for (const r of this.readers) {
      this.flush(r);
      r.out.end();
    }
    this.readers.clear();
    this.holds.clear();
    this.gop.end();
  }
}

/** A buffer kept for the whole stream (metadata, sequence headers) that holds no other bytes alive with it. */
function own(data: Buffer): Buffer {
  return data.length < data.buffer.byteLength ? Buffer.from(data) : data;
}

function flvHeader(hasAudio: boolean, hasVideo: boolean): Buffer {
  const b = Buffer.from([0x46, 0x4c, 0x56, 0x01, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00]);
  b[4] = (hasAudio ? 4 : 0) | (hasVideo ? 1 : 0);
  return b;
}

/** One FLV tag plus its trailing PreviousTagSize. */
function flvTag(type: number, dts: number, data: Buffer): Buffer {
  const b = Buffer.allocUnsafe(15 + data.length);
  writeFlvTag(b, 0, type, dts, data);
  return b;
}

/** Writes one FLV tag and its PreviousTagSize into `b` at `off`; returns the offset after it. */
function writeFlvTag(b: Buffer, off: number, type: number, dts: number, data: Buffer): number {
  b[off] = type;
  b.writeUIntBE(data.length, off + 1, 3);
  b.writeUIntBE(dts & 0xffffff, off + 4, 3);
  b[off + 7] = (dts >>> 24) & 0xff;
  b.writeUIntBE(0, off + 8, 3);
  data.copy(b, off + 11);
  b.writeUInt32BE(11 + data.length, off + 11 + data.length);
  return off + 15 + data.length;
}

/** What one FLV video payload is: a sequence header, a keyframe, another frame, or a side packet. */
function classifyVideo(data: Buffer): { kind: 'header' | 'key' | 'frame' | 'other'; codec: number } {
  const frameType = (data[0] >> 4) & 0x07;
  if (data[0] & 0x80) {
    // Enhanced RTMP: packet type in the low nibble, then a FourCC codec id.
    const packetType = data[0] & 0x0f;
    const codec = data.length >= 5 ? data.readUInt32BE(1) : 0;
    if (packetType === 0) return { kind: 'header', codec };
    if (packetType === 1 || packetType === 3) return { kind: frameType === 1 ? 'key' : 'frame', codec };
    return { kind: 'other', codec };
  }
  const codec = data[0] & 0x0f;
  // H.264 and the widespread HEVC-in-FLV extension (12) share the AVC packet layout.
  if ((codec === 7 || codec === 12) && data.length > 1 && data[1] === 0) return { kind: 'header', codec };
  return { kind: frameType === 1 && (codec === 7 || codec === 12) ? 'key' : 'frame', codec };
}

function videoCodecName(id: number): string {
  switch (id) {
    case 7:
      return 'h264';
    case 12:
    case 0x68766331: // 'hvc1'
      return 'hevc';
    case 0x61763031: // 'av01'
      return 'av1';
    case 0x76703039: // 'vp09'
      return 'vp9';
    default:
      return `flv-video-${id}`;
  }
}

function audioCodecName(id: number): string {
  switch (id) {
    case 10:
      return 'aac';
    case 2:
    case 14:
    case 0x2e6d7033: // '.mp3'
      return 'mp3';
    case 0x6d703461: // 'mp4a'
      return 'aac';
    case 0x4f707573: // 'Opus'
      return 'opus';
    case 11:
      return 'speex';
    case 6:
    case 5:
    case 4:
      return 'nellymoser';
    case 7:
      return 'pcm_alaw';
    case 8:
      return 'pcm_mulaw';
    default:
      return `flv-audio-${id}`;
  }
}
