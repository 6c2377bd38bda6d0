/**
 * Forwards a WHIP session's RTP to one recorder ffmpeg over loopback UDP.
 *
 * Design note (the RTP → ffmpeg path):
 * - ffmpeg reads an SDP (`-f sdp`) naming, per track, the negotiated payload
 *   type, codec and fmtp, and a loopback port pair (RTP on an even port, RTCP
 *   on the next) from `PortAllocator`. It binds them itself (`-localaddr
 *   127.0.0.1`), so forwarding starts only once /proc shows the ffmpeg process
 *   owning every port; until then packets queue here.
 * - The recording starts with a keyframe: the session's `MediaTap` replays its
 *   cache (the stream since its first keyframe for the first recording, the
 *   current GOP afterwards) and this feed drops video until a keyframe and
 *   audio until the video started. The replay is paced so the socket buffer
 *   of an ffmpeg still probing its input does not overflow.
 * - Audio/video sync comes from the publisher's RTCP sender reports, which map
 *   each track's RTP clock to one NTP clock. ffmpeg's RTP demuxer uses them, but
 *   only for packets that arrive after the track's first report (earlier ones
 *   are timed from the first packet, and the track jumps when the report comes).
 *   So each track's RTP is held until its report was forwarded; a publisher
 *   that sends none within `SR_WAIT_MS` is forwarded without (and logged).
 * - Jitter and reordering: werift NACKs lost video packets and hands over the
 *   retransmissions out of order; ffmpeg reorders (`-reorder_queue_size`,
 *   waiting up to `-max_delay` for a gap), duplicates are dropped by sequence.
 * - ffmpeg's H.264 parser loses the timestamp of the first frame of an RTP
 *   stream; a throwaway non-key frame just before the first keyframe takes
 *   that loss (see `h264Primer`). Frames are all decoded (no `-skip_frame`):
 *   with it, ffmpeg 5.1 loses timestamps over RTP. A synthetic stream came
 *   through, but Chromium's 720p stream made the MP4 muxer fail within 5 s
 *   ("pts/dts pair unsupported"), every restart alike (bench:whip).
 * - Ending: RTP never ends by itself, and ffmpeg waits ~10 s for silent input
 *   before giving up. Instead `end()` sends an RTCP BYE on every track once the
 *   queue is drained and ffmpeg has read it all (it reads RTCP before RTP);
 *   ffmpeg treats BYE on all streams as end of file and finishes its outputs at
 *   once, whether RTP still flows or the publisher is already gone.
 */
import dgram from 'node:dgram';
import type { Logger } from '../../log/logger.js';
import type { FeedInput, FeedTarget, MediaFeed } from '../types.js';
import type { MediaTap, TapPacket, TapReader } from './media-tap.js';
import type { ChosenTrack, TrackKind } from './offer.js';
import type { PortAllocator } from './port-allocator.js';
import { recorderSdp } from './recorder-sdp.js';
import { waitForUdpDrained, waitForUdpListener } from './udp-listener.js';

/** Longest a track's RTP is held waiting for its first sender report. */
export const SR_WAIT_MS = 6000;
/** Longest wait for ffmpeg to bind its ports. */
const LISTEN_TIMEOUT_MS = 15_000;
/** Longest wait for ffmpeg to read what was sent before the BYE (it may lag behind when transcoding). */
const DRAIN_TIMEOUT_MS = 5000;
/** Packets sent per millisecond while catching up (≈10 MB/s, ~30× a 720p stream). */
const BURST = 8;
/** Queued bytes past which a feed whose ffmpeg never listens stops queueing. */
const QUEUE_LIMIT = 64 * 1024 * 1024;
/** From RTP ffmpeg copies only H.264 into MP4 (requiring MP4 from WebRTC means H.264). */
const RTP_MP4_VIDEO: ReadonlySet<string> = new Set(['h264']);
/** How ffmpeg reads the forwarded RTP: by the SDP, on loopback ports it binds itself. */
const SDP_INPUT_OPTIONS = [
  '-protocol_whitelist', 'file,udp,rtp',
  '-f', 'sdp',
  '-localaddr', '127.0.0.1',
  // Retransmitted (NACKed) packets arrive late and out of order: wait up to 0.5 s for a gap to fill.
  '-reorder_queue_size', '1000',
  '-max_delay', '500000',
  '-buffer_size', String(4 * 1024 * 1024),
];

interface TrackState {
  track: ChosenTrack;
  rtpPort: number;
  rtcpPort: number;
  srSent: boolean;
  held: Buffer[];
  heldSince: number;
  ssrc: number;
}

export interface RtpFeedOptions {
  tap: MediaTap;
  ports: PortAllocator;
  /** Loopback address ffmpeg listens on. */
  host: string;
  /** Session name for the SDP `s=` line. */
  label: string;
  log: Logger;
}

export class RtpFeed implements TapReader, MediaFeed {
  readonly sdp: string;
  readonly mp4VideoCodecs = RTP_MP4_VIDEO;
  /** Over RTP (ffmpeg 5.1) skipping frames loses timestamps the copied outputs need (see the notes above). */
  readonly keyframeDecoding = false;
  readonly hasVideo: boolean;
  readonly hasAudio: boolean;
  readonly videoCodec?: string;
  readonly audioCodec?: string;
  private readonly tracks = new Map<TrackKind, TrackState>();
  private readonly socket: dgram.Socket;
  private queue: Array<{ port: number; data: Buffer }> = [];
  private queueHead = 0;
  private queueBytes = 0;
  private state: 'created' | 'waiting' | 'forwarding' | 'closed' = 'created';
  private ending = false;
  private byeSent = false;
  private pumping = false;
  private videoStarted: boolean;
  private srTimer?: NodeJS.Timeout;
  private forwarded = 0;
  private firstAt?: number;

  /** Reserves the ports and starts collecting packets (nothing is sent before `start`). */
  static async open(options: RtpFeedOptions): Promise<RtpFeed> {
    const ports = await options.ports.allocate(options.tap.tracks.length);
    return new RtpFeed(options, ports);
  }

  private constructor(
    private readonly options: RtpFeedOptions,
    private readonly ports: number[],
  ) {
    const { tap } = options;
    tap.tracks.forEach((track, i) => {
      this.tracks.set(track.kind, { track, rtpPort: ports[i], rtcpPort: ports[i] + 1, srSent: false, held: [], heldSince: 0, ssrc: 0 });
    });
    this.hasVideo = this.tracks.has('video');
    this.hasAudio = this.tracks.has('audio');
    this.videoCodec = tap.video?.codec;
    this.audioCodec = tap.audio?.codec;
    this.videoStarted = !this.hasVideo;
    this.sdp = recorderSdp(
      [...this.tracks.values()].map((t) => ({ ...t.track, port: t.rtpPort })),
      options.host,
      options.label,
    );
    this.socket = dgram.createSocket(options.host.includes(':') ? 'udp6' : 'udp4');
    this.socket.on('error', (err) => options.log.debug({ err: err.message }, 'rtp forward socket error'));
    this.socket.bind(0, options.host);
    tap.addReader(this);
  }

  /** Arrival time of the first packet the recorder gets (its time 0), once one was taken. */
  mediaStartedAt(): number | undefined {
    return this.firstAt;
  }

  input(): FeedInput {
    return { options: SDP_INPUT_OPTIONS, descriptor: this.sdp };
  }

  /** RTP is forwarded once this very process listens on the SDP's ports. */
  attach(target: FeedTarget): void {
    this.start(target.pid);
  }

  /** 0: what waits here is sent in bursts of its own, ffmpeg's progress shows in its reads. */
  queuedBytes(): number {
    return 0;
  }

  /** Begins forwarding once the ffmpeg process `pid` listens on every port. */
  start(pid?: number): void {
    if (this.state !== 'created') return;
    this.state = 'waiting';
    this.srTimer = setInterval(() => this.releaseOverdue(), 500);
    const all = [...this.tracks.values()].flatMap((t) => [t.rtpPort, t.rtcpPort]);
    void waitForUdpListener(pid, all, LISTEN_TIMEOUT_MS, () => this.state === 'closed').then((ok) => {
      if (this.state !== 'waiting') return;
      if (!ok) {
        this.options.log.warn({ ports: all, pid }, 'recorder never listened on its rtp ports');
        return;
      }
      this.state = 'forwarding';
      this.pump();
    });
  }

  rtp(p: TapPacket): void {
    if (this.state === 'closed' || this.ending) return;
    const t = this.tracks.get(p.kind);
    if (!t) return;
    if (!this.videoStarted) {
      if (p.kind !== 'video' || !p.keyframe) return;
      this.videoStarted = true;
      if (t.track.codec === 'h264') this.deliver(t, h264Primer(p.data));
    }
    this.firstAt ??= p.at;
    this.deliver(t, p.data);
  }

  /** Sends a track's packet, or holds it until the track's first sender report went out. */
  private deliver(t: TrackState, data: Buffer): void {
    if (t.ssrc === 0 && data.length >= 12) t.ssrc = data.readUInt32BE(8);
    if (!t.srSent) {
      if (t.held.length === 0) t.heldSince = Date.now();
      t.held.push(data);
      return;
    }
    this.enqueue(t.rtpPort, data);
  }

  senderReport(kind: TrackKind, data: Buffer): void {
    if (this.state === 'closed' || this.ending) return;
    const t = this.tracks.get(kind);
    if (!t) return;
    this.enqueue(t.rtcpPort, data);
    if (!t.srSent) {
      t.srSent = true;
      this.flushHeld(t);
    }
  }

  /** Tracks whose publisher sent no sender report in time are forwarded without. */
  private releaseOverdue(): void {
    for (const t of this.tracks.values()) {
      if (t.srSent || t.held.length === 0 || Date.now() - t.heldSince < SR_WAIT_MS) continue;
      this.options.log.warn({ kind: t.track.kind, waitedMs: SR_WAIT_MS }, 'no rtcp sender report from the publisher; track timed from its first packet');
      t.srSent = true;
      this.flushHeld(t);
    }
  }

  private flushHeld(t: TrackState): void {
    for (const data of t.held) this.enqueue(t.rtpPort, data);
    t.held = [];
  }

  private enqueue(port: number, data: Buffer): void {
    if (this.queueBytes > QUEUE_LIMIT) return;
    this.queue.push({ port, data });
    this.queueBytes += data.length;
    this.pump();
  }

  private pump(): void {
    if (this.pumping || this.state !== 'forwarding') return;
    this.pumping = true;
    const step = () => {
      if (this.state !== 'forwarding') {
        this.pumping = false;
        return;
      }
      for (let n = 0; n < BURST && this.queueHead < this.queue.length; n++) {
        const { port, data } = this.queue[this.queueHead++];
        this.queueBytes -= data.length;
        this.forwarded++;
        this.socket.send(data, port, this.options.host);
      }
      if (this.queueHead > 4096 && this.queueHead * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.queueHead);
        this.queueHead = 0;
      }
      if (this.queueHead < this.queue.length) {
        setTimeout(step, 1);
        return;
      }
      this.pumping = false;
      if (this.ending) this.sendByes();
    };
    step();
  }

  /**
   * Ends ffmpeg's input like the end of a file: what is queued is sent, then an
   * RTCP BYE on every track. Works whether or not RTP still flows.
   */
  end(): void {
    if (this.ending || this.state === 'closed') return;
    this.ending = true;
    // Packets held for a report that will not come now are still recorded.
    for (const t of this.tracks.values()) this.flushHeld(t);
    if (this.state === 'forwarding' && !this.pumping) this.sendByes();
  }

  private sendByes(): void {
    if (this.byeSent || this.state !== 'forwarding') return;
    this.byeSent = true;
    // ffmpeg reads a track's RTCP socket before its RTP socket: a BYE sent while RTP still waits unread
    // would end the recording before that RTP. So the BYE goes once ffmpeg has read everything.
    const rtpPorts = [...this.tracks.values()].map((t) => t.rtpPort);
    void waitForUdpDrained(rtpPorts, DRAIN_TIMEOUT_MS).then(() => this.byes());
  }

  private byes(): void {
    const send = () => {
      if (this.state !== 'forwarding') return;
      for (const t of this.tracks.values()) this.socket.send(rtcpBye(t.ssrc), t.rtcpPort, this.options.host);
    };
    send();
    // Loopback UDP is not lost in practice; repeating costs nothing and covers it.
    setTimeout(send, 100).unref();
    setTimeout(send, 500).unref();
    this.options.log.debug({ forwarded: this.forwarded }, 'rtp input ended with bye');
  }

  /** ffmpeg is gone: stop, free the ports. Safe to call twice. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.options.tap.removeReader(this);
    clearInterval(this.srTimer);
    this.queue = [];
    this.queueHead = 0;
    this.queueBytes = 0;
    for (const t of this.tracks.values()) t.held = [];
    try {
      this.socket.close();
    } catch {
      // Already closed.
    }
    this.options.ports.release(this.ports);
  }

  /** Packets sent to ffmpeg so far (tests, logs). */
  get forwardedPackets(): number {
    return this.forwarded;
  }
}

/**
 * A throwaway H.264 frame sent just before the first keyframe: the start of a
 * P slice, one frame (3000 ticks) earlier, with the previous sequence number.
 * ffmpeg's H.264 parser loses the timestamp of the first frame of an RTP
 * stream (its packet position is unknown), and a keyframe without timestamp
 * upsets the timing of every output; this frame takes that loss instead. It is
 * not a keyframe, so the copied outputs drop it, and the decoder cannot decode
 * it without parameter sets, so previews never see it.
 */
export function h264Primer(keyframePacket: Buffer): Buffer {
  const header = Buffer.from(keyframePacket.subarray(0, 12));
  header[0] &= 0xe0; // no padding, extension or CSRCs
  header[1] = 0x80 | (header[1] & 0x7f); // marker: the frame ends here
  header.writeUInt16BE((keyframePacket.readUInt16BE(2) - 1) & 0xffff, 2);
  header.writeUInt32BE((keyframePacket.readUInt32BE(4) - 3000) >>> 0, 4);
  // NAL type 1 (non-IDR slice), first_mb_in_slice = 0.
  return Buffer.concat([header, Buffer.from([0x41, 0x9a, 0x00, 0x00])]);
}

/**
 * An RTCP BYE (RFC 3550 6.6) for one SSRC, with a reason: ffmpeg ignores any
 * packet shorter than an RTP header (12 bytes), so a bare 8-byte BYE would not count.
 */
export function rtcpBye(ssrc: number): Buffer {
  const reason = Buffer.from('end', 'ascii');
  const b = Buffer.alloc(12);
  b[0] = 0x81; // V=2, P=0, SC=1
  b[1] = 203; // BYE
  b.writeUInt16BE(2, 2); // length in 32-bit words minus one
  b.writeUInt32BE(ssrc >>> 0, 4);
  b[8] = reason.length;
  reason.copy(b, 9);
  return b;
}
