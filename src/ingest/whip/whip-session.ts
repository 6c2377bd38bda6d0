/**
 * One WHIP publisher: a werift peer connection that only receives, and the
 * `PublisherSession` the rest of the server sees.
 *
 * Life: created when the offer passed its checks and the stream was claimed;
 * `answer()` negotiates (one codec per track, see offer.ts) and gathers the
 * server's candidates before the answer is returned. The session ends on
 * DELETE, on ICE/DTLS failure, when no ICE/DTLS connection is made within
 * `connectTimeoutSeconds`, when the publisher sends nothing for
 * `mediaTimeoutSeconds` (a closed browser sends no goodbye), and on shutdown.
 * Ending releases the stream id, ends every recorder's input (RTCP BYE, see
 * rtp-feed.ts) and only then closes the peer connection.
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import {
  PictureLossIndication,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RtcpPayloadSpecificFeedback,
  RtcpSrPacket,
  type RTCRtpTransceiver,
  type RtpPacket,
} from 'werift';
import type { Logger } from '../../log/logger.js';
import type { WhipServerSettings } from '../../config/whip-schema.js';
import { AppError, errorMessage } from '../../errors.js';
import { BitrateMeter } from '../bitrate-meter.js';
import type { MediaFeed, PublisherSession, StreamStats } from '../types.js';
import { MediaTap } from './media-tap.js';
import type { ChosenTrack, OfferPlan, TrackKind } from './offer.js';
import type { PortAllocator } from './port-allocator.js';
import { RtpFeed } from './rtp-feed.js';
import type { TrickleFragment } from './trickle.js';

/** Where the recorder's ffmpeg listens for forwarded RTP. */
const RECORDER_HOST = '127.0.0.1';

/** What a session needs from the stream registry. */
export interface StreamReleaser {
  release(session: PublisherSession, reason: string): void;
}

export interface WhipSessionOptions {
  app: string;
  streamId: string;
  /** Address of the HTTP client that posted the offer. */
  remoteAddress: string;
  /** The Bearer token of the POST, required again on PATCH and DELETE. */
  token?: string;
  /** The checked offer's tracks and codecs. */
  plan: OfferPlan;
  settings: WhipServerSettings;
  /** Loopback ports for the recorders' ffmpeg. */
  ports: PortAllocator;
  /** Given the session back when it ends. */
  registry: StreamReleaser;
  log: Logger;
}

type State = 'new' | 'connecting' | 'connected' | 'closed';

export class WhipSession implements PublisherSession {
  readonly id = randomUUID();
  readonly protocol = 'whip' as const;
  readonly app: string;
  readonly streamId: string;
  readonly remoteAddress: string;
  readonly startedAt = new Date();
  readonly closed: Promise<string>;
  /** Resolves once the peer connection is closed too. */
  readonly done: Promise<void>;
  /** Entity tag of the session resource (RFC 9725 ICE restarts use If-Match). */
  readonly etag = `"${randomBytes(9).toString('base64url')}"`;
  private readonly tap: MediaTap;
  private readonly meter = new BitrateMeter();
  private pc?: RTCPeerConnection;
  private state: State = 'new';
  private resolveClosed!: (reason: string) => void;
  private resolveDone!: () => void;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly unsubscribers: Array<() => void> = [];
  private lastPacketAt = 0;
  private videoSsrc = 0;
  private videoTransceiver?: RTCRtpTransceiver;
  private log: Logger;

  constructor(private readonly options: WhipSessionOptions) {
    this.app = options.app;
    this.streamId = options.streamId;
    this.remoteAddress = options.remoteAddress;
    this.closed = new Promise((r) => (this.resolveClosed = r));
    this.done = new Promise((r) => (this.resolveDone = r));
    this.tap = new MediaTap([options.plan.video, options.plan.audio].filter((t): t is ChosenTrack => !!t));
    this.log = options.log.child({ sessionId: this.id });
  }

  /** Negotiates and returns the SDP answer, with the server's candidates gathered. */
  async answer(offer: string): Promise<string> {
    const { settings, plan } = this.options;
    const pc = new RTCPeerConnection({
      bundlePolicy: 'max-bundle',
      iceServers: settings.iceServers.map((s) => ({ urls: [s.urls].flat(), username: s.username, credential: s.credential })),
      iceAdditionalHostAddresses: settings.additionalHostAddresses,
      icePortRange: settings.icePortRange ? [settings.icePortRange[0], settings.icePortRange[1]] : undefined,
      codecs: {
        video: plan.video ? [localCodec(plan.video)] : [],
        audio: plan.audio ? [localCodec(plan.audio)] : [],
      },
    });
    this.pc = pc;
    this.state = 'connecting';
    this.watch(pc);
    await pc.setRemoteDescription({ type: 'offer', sdp: offer });
    if (!settings.iceServers.some((s) => [s.urls].flat().some((u) => /^stuns?:/i.test(u)))) {
      // werift falls back to stun.l.google.com when no STUN server is configured: a self-hosted server must not
      // call out to Google, and where UDP is filtered the gathering would wait 5 s for it.
      for (const t of pc.iceTransports) t.connection.stunServer = undefined;
    }
    for (const track of this.tap.tracks) {
      const t = pc.getTransceivers().find((x) => x.mid === track.mid);
      if (!t) throw new AppError('bad_offer', `malformed or unusable SDP offer: no transceiver for mid ${track.mid}`, 400);
      // Answer exactly the chosen codec, so the publisher cannot send another.
      t.codecs = t.codecs.filter((c) => c.payloadType === track.payloadType).map((c) => answeredCodec(c, settings.videoStartBitrateKbps));
      if (t.codecs.length === 0) throw new AppError('no_supported_codec', `payload type ${track.payloadType} was not negotiated`, 400);
      this.tapTransceiver(t, track);
    }
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    if ((this.state as State) === 'closed') throw new AppError('session_closed', 'the session ended during negotiation', 409);
    this.timers.push(setTimeout(() => this.state !== 'connected' && this.close('ice/dtls connection timeout'), settings.connectTimeoutSeconds * 1000));
    this.log.info({ video: plan.video?.codec, videoPayloadType: plan.video?.payloadType, videoFmtp: plan.video?.fmtp, audio: plan.audio?.codec }, 'whip session negotiated');
    return pc.localDescription!.sdp;
  }

  private watch(pc: RTCPeerConnection): void {
    const sub = pc.connectionStateChange.subscribe((s) => {
      this.log.debug({ state: s }, 'whip connection state');
      if (s === 'connected' && this.state === 'connecting') this.onConnected();
      else if (s === 'failed') this.close('ice/dtls failed');
      else if (s === 'closed') this.close('peer connection closed');
    });
    this.unsubscribers.push(() => sub.unSubscribe());
  }

  private tapTransceiver(t: RTCRtpTransceiver, track: ChosenTrack): void {
    const kind = track.kind;
    if (kind === 'video') this.videoTransceiver = t;
    for (const remote of t.receiver.tracks) {
      if (kind === 'video' && remote.ssrc) this.videoSsrc = remote.ssrc;
      const sub = remote.onReceiveRtp.subscribe((rtp) => this.onRtp(kind, track, rtp));
      this.unsubscribers.push(() => sub.unSubscribe());
    }
    const rtcp = t.receiver.onRtcp.subscribe((p) => {
      this.lastPacketAt = Date.now();
      if (p instanceof RtcpSrPacket) this.tap.senderReport(kind, p.serialize());
    });
    this.unsubscribers.push(() => rtcp.unSubscribe());
  }

  private onRtp(kind: TrackKind, track: ChosenTrack, rtp: RtpPacket): void {
    this.lastPacketAt = Date.now();
    if (rtp.header.payloadType !== track.payloadType) return;
    // Padding-only packets (bandwidth probes) carry no media; the sequence gap they leave costs ffmpeg at most
    // -max_delay of waiting, where forwarding them would make its depacketizers log an error each.
    if (rtp.payload.length === 0) return;
    if (kind === 'video') this.videoSsrc = rtp.header.ssrc;
    const data = rtp.serialize();
    this.meter.add(data.length);
    this.tap.rtp(kind, rtp.header.timestamp, rtp.payload, data);
  }

  private onConnected(): void {
    this.state = 'connected';
    this.lastPacketAt = Date.now();
    const { settings } = this.options;
    this.log.info('whip publisher connected');
    this.requestKeyframe();
    this.timers.push(setInterval(() => this.requestKeyframe(), settings.keyframeIntervalSeconds * 1000));
    this.timers.push(
      setInterval(() => {
        if (Date.now() - this.lastPacketAt > settings.mediaTimeoutSeconds * 1000) this.close('publisher silent');
      }, 500),
    );
  }

  /** Asks the publisher for a keyframe (RTCP PLI), when it accepts them. */
  requestKeyframe(): void {
    const t = this.videoTransceiver;
    if (!t || !this.options.plan.video?.pli || !this.videoSsrc || this.state !== 'connected') return;
    const pli = new RtcpPayloadSpecificFeedback({ feedback: new PictureLossIndication({ senderSsrc: t.receiver.rtcpSsrc, mediaSsrc: this.videoSsrc }) });
    t.receiver.dtlsTransport.sendRtcp([pli]).catch((err: unknown) => this.log.debug({ err: errorMessage(err) }, 'pli not sent'));
  }

  /** Applies trickled candidates (PATCH). */
  async addCandidates(frag: TrickleFragment): Promise<void> {
    const pc = this.pc;
    if (!pc || this.state === 'closed') throw new AppError('session_closed', 'the session has ended', 404);
    for (const c of frag.candidates) {
      await pc.addIceCandidate({ candidate: c.candidate, sdpMid: c.mid ?? this.tap.tracks[0]?.mid }).catch((err: unknown) => {
        throw new AppError('bad_candidate', `ice candidate not accepted: ${errorMessage(err)}`, 400);
      });
    }
  }

  /** The remote ICE credentials of the offer, to tell a trickle from an ICE restart. */
  get remoteIceUfrag(): string | undefined {
    const d = this.pc?.remoteDescription?.sdp;
    return d ? /^a=ice-ufrag:(\S+)/m.exec(d)?.[1] : undefined;
  }

  /** True when `token` is the credential the session was created with (none needed if it had none). */
  acceptsToken(token: string | undefined): boolean {
    const own = this.options.token;
    if (own === undefined) return true;
    if (token === undefined) return false;
    const a = Buffer.from(own);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  async openMedia(): Promise<MediaFeed> {
    await this.tap.ready();
    return RtpFeed.open({ tap: this.tap, ports: this.options.ports, host: RECORDER_HOST, label: `bucketcast ${this.app}/${this.streamId}`, log: this.log });
  }

  stats(): StreamStats {
    return {
      videoCodec: this.options.plan.video?.codec,
      audioCodec: this.options.plan.audio?.codec,
      bytesIn: this.meter.bytes,
      bitrate: this.meter.bitsPerSecond(),
    };
  }

  get isConnected(): boolean {
    return this.state === 'connected';
  }

  /**
   * Ends the session: releases the stream, ends every recorder's input, then
   * closes the peer connection. Safe to call twice.
   */
  close(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    for (const t of this.timers) clearTimeout(t);
    this.log.info({ reason }, 'whip session ended');
    this.options.registry.release(this, reason);
    this.resolveClosed(reason);
    // Recorders get BYE now, while (or whether or not) RTP still flows.
    this.tap.end();
    if (this.tap.droppedAtEnd > 0) this.log.debug({ packets: this.tap.droppedAtEnd }, 'unfinished last video frame left out');
    for (const u of this.unsubscribers.splice(0)) u();
    const pc = this.pc;
    if (!pc) {
      this.resolveDone();
      return;
    }
    pc.close().then(
      () => this.resolveDone(),
      (err: unknown) => {
        this.log.debug({ err: errorMessage(err) }, 'peer connection close failed');
        this.resolveDone();
      },
    );
  }
}

/** The local codec werift matches the offer against (by MIME type). */
function localCodec(t: ChosenTrack): RTCRtpCodecParameters {
  return new RTCRtpCodecParameters({
    mimeType: `${t.kind}/${t.codec === 'h264' ? 'H264' : t.codec === 'opus' ? 'opus' : t.codec.toUpperCase()}`,
    clockRate: t.clockRate,
    channels: t.channels,
  });
}

/**
 * The offered codec as answered: only the feedback werift implements (NACK,
 * PLI; its transport-cc feedback made Chrome collapse to ~30 kbps in tests, so
 * congestion control stays loss-based), plus the start bitrate Chrome honours
 * from the answer (it would otherwise start at 300 kbps and climb for ~10 s).
 */
function answeredCodec(c: RTCRtpCodecParameters, startBitrateKbps: number): RTCRtpCodecParameters {
  return new RTCRtpCodecParameters({
    payloadType: c.payloadType,
    mimeType: c.mimeType,
    clockRate: c.clockRate,
    channels: c.channels,
    parameters: c.mimeType.startsWith('video/') && startBitrateKbps > 0 ? [c.parameters, `x-google-start-bitrate=${startBitrateKbps}`].filter(Boolean).join(';') : c.parameters,
    rtcpFeedback: c.rtcpFeedback.filter((f) => f.type === 'nack'),
  });
}
