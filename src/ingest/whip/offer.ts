/**
 * Checks a WHIP offer before any WebRTC state is created, and picks the one
 * codec per track that will be recorded.
 *
 * The answer names exactly one codec per track (the sender then has no
 * choice), so what the recorder is told is what arrives. Video preference:
 * H.264 (copied into MP4/HLS as it is), then VP8, then VP9; among H.264
 * variants the offerer's own order wins, packetization-mode=1 first — never an
 * assumed profile. Audio: Opus (transcoded to AAC for MP4/HLS).
 */
import { SessionDescription, type MediaDescription, type RTCRtpCodecParameters } from 'werift';
import { AppError } from '../../errors.js';

export type TrackKind = 'audio' | 'video';
export type RecordedCodec = 'h264' | 'vp8' | 'vp9' | 'opus';

/** The codec chosen for one track of the offer. */
export interface ChosenTrack {
  kind: TrackKind;
  /** The m-section's `a=mid`. */
  mid: string;
  codec: RecordedCodec;
  payloadType: number;
  clockRate: number;
  channels?: number;
  /** The offer's `a=fmtp` parameters of that payload type, as written. */
  fmtp?: string;
  /** Whether the offerer accepts picture loss indications (`a=rtcp-fb:<pt> nack pli`). */
  pli: boolean;
}

export interface OfferPlan {
  video?: ChosenTrack;
  audio?: ChosenTrack;
}

/** Largest offer accepted (bytes); real offers are 3–15 KB. */
export const MAX_OFFER_BYTES = 64 * 1024;

const VIDEO_PREFERENCE: RecordedCodec[] = ['h264', 'vp8', 'vp9'];

/** What is recorded, for error messages and the README. */
export const SUPPORTED_CODECS = 'video H264, VP8 or VP9; audio Opus';

/**
 * Validates an offer and picks its codecs. Throws `AppError` 400 `bad_offer`
 * when the SDP is malformed or unusable for WHIP, 400 `no_supported_codec` when
 * a track offers nothing bucketcast can record.
 */
export function planOffer(sdp: string): OfferPlan {
  const lines = sdp.split(/\r?\n/).filter((l) => l.length > 0);
  if (lines[0] !== 'v=0') throw bad('SDP must start with "v=0"');
  // SDP text may hold any byte but NUL, CR and LF outside line ends (RFC 8866 section 9); other controls are garbage too.
  if (/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(sdp)) throw bad('the offer contains NUL or control characters');
  const badLine = lines.find((l) => !/^[a-z]=/.test(l));
  if (badLine !== undefined) throw bad(`not an SDP line: "${truncate(badLine)}"`);
  const numbers = badNumber(lines);
  if (numbers) throw bad(numbers);
  // Checked before parsing: werift's parser fails on these with internal messages.
  if (!/^m=(audio|video) /m.test(sdp)) throw bad('the offer has no audio or video track');
  if (!/^a=ice-ufrag:\S/m.test(sdp) || !/^a=ice-pwd:\S/m.test(sdp)) throw bad('no a=ice-ufrag/a=ice-pwd (ICE credentials)');
  if (!/^a=fingerprint:\S/m.test(sdp)) throw bad('no a=fingerprint (DTLS)');
  let parsed: SessionDescription;
  try {
    parsed = SessionDescription.parse(sdp);
  } catch (err) {
    throw bad(`SDP could not be parsed (${(err as Error).message})`);
  }
  const media = parsed.media.filter((m) => (m.kind === 'audio' || m.kind === 'video') && m.port !== 0);
  if (media.length === 0) throw bad('the offer has no audio or video track');
  const plan: OfferPlan = {};
  for (const m of media) {
    const kind = m.kind as TrackKind;
    if (plan[kind]) throw bad(`the offer has more than one ${kind} track; publish one audio and one video track`);
    checkMedia(m, parsed);
    plan[kind] = chooseCodec(kind, m);
  }
  return plan;
}

function checkMedia(m: MediaDescription, s: SessionDescription): void {
  const where = `${m.kind} track (mid ${m.rtp.muxId ?? '?'})`;
  if (!m.rtp.muxId) throw bad(`${where} has no a=mid`);
  const direction = m.direction ?? 'sendrecv';
  if (direction !== 'sendonly' && direction !== 'sendrecv') throw bad(`${where} is ${direction}; a WHIP publisher must send (sendonly)`);
  if (!(m.iceParams?.usernameFragment || s.iceUsernameFragment) || !(m.iceParams?.password || s.icePassword)) throw bad(`${where} has no a=ice-ufrag/a=ice-pwd`);
  if (!(m.dtlsParams?.fingerprints.length || s.dtlsFingerprints.length)) throw bad(`${where} has no a=fingerprint`);
  if (m.simulcastParameters.length > 0) throw bad(`${where} uses simulcast; send a single encoding`);
  // werift routes incoming RTP by SSRC; without a=ssrc the media would be dropped.
  if (m.ssrc.length === 0) throw bad(`${where} declares no a=ssrc`);
}

function chooseCodec(kind: TrackKind, m: MediaDescription): ChosenTrack {
  const offered = m.rtp.codecs;
  let pick: { codec: RecordedCodec; params: RTCRtpCodecParameters } | undefined;
  if (kind === 'video') {
    for (const name of VIDEO_PREFERENCE) {
      const candidates = offered.filter((c) => codecName(c) === name);
      const best = name === 'h264' ? (candidates.find((c) => fmtpValue(c.parameters, 'packetization-mode') === '1') ?? candidates[0]) : candidates[0];
      if (best) {
        pick = { codec: name, params: best };
        break;
      }
    }
  } else {
    const opus = offered.find((c) => codecName(c) === 'opus');
    if (opus) pick = { codec: 'opus', params: opus };
  }
  if (!pick) {
    const names = [...new Set(offered.map((c) => c.mimeType.split('/')[1] ?? c.mimeType))].filter((n) => !/^(rtx|red|ulpfec|flexfec-03|cn|telephone-event)$/i.test(n));
    throw new AppError(
      'no_supported_codec',
      `the ${kind} track offers ${names.length ? names.join(', ') : 'no codec'}; bucketcast records ${SUPPORTED_CODECS}`,
      400,
    );
  }
  const p = pick.params;
  return {
    kind,
    mid: m.rtp.muxId!,
    codec: pick.codec,
    payloadType: p.payloadType,
    clockRate: p.clockRate,
    channels: p.channels,
    fmtp: p.parameters,
    pli: p.rtcpFeedback.some((f) => f.type === 'nack' && f.parameter === 'pli'),
  };
}

function codecName(c: RTCRtpCodecParameters): string {
  return (c.mimeType.split('/')[1] ?? '').toLowerCase();
}

/** Value of one `key=value` of an fmtp line. */
export function fmtpValue(fmtp: string | undefined, key: string): string | undefined {
  for (const part of (fmtp ?? '').split(';')) {
    const [k, v] = part.split('=', 2).map((s) => s.trim());
    if (k.toLowerCase() === key) return v;
  }
  return undefined;
}

/** Ports, payload types and clock rates out of range (werift would take them as they are). */
function badNumber(lines: string[]): string | null {
  for (const l of lines) {
    const m = /^m=\S+ (\d+)(?:\/\d+)? \S+(.*)$/.exec(l);
    if (m) {
      if (Number(m[1]) > 65535) return `port out of range in "${truncate(l)}"`;
      if (/RTP/.test(l) && m[2].trim().split(/\s+/).some((pt) => pt && !(/^\d{1,3}$/.test(pt) && Number(pt) <= 127))) return `payload type out of range (0-127) in "${truncate(l)}"`;
      continue;
    }
    const r = /^a=rtpmap:(\S+) [^/\s]+\/(\S+?)(?:\/\S+)?$/.exec(l);
    if (r && !(/^\d{1,3}$/.test(r[1]) && Number(r[1]) <= 127 && /^\d{1,7}$/.test(r[2]) && Number(r[2]) >= 1000 && Number(r[2]) <= 1_000_000)) return `payload type or clock rate out of range in "${truncate(l)}"`;
  }
  return null;
}

function bad(message: string): AppError {
  return new AppError('bad_offer', `malformed or unusable SDP offer: ${message}`, 400);
}

function truncate(s: string): string {
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}
