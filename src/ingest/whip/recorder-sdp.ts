/**
 * The SDP the recorder's ffmpeg reads (`-f sdp`): plain RTP/AVP on loopback,
 * one m-section per forwarded track with the negotiated payload type, codec
 * name, clock rate and fmtp exactly as the publisher offered them. ffmpeg
 * listens on each m-section's port for RTP and on the next port for RTCP.
 */
import type { ChosenTrack, RecordedCodec } from './offer.js';

/** A negotiated track and the port its RTP is forwarded to. */
export interface ForwardedTrack extends ChosenTrack {
  port: number;
}

const ENCODING: Record<RecordedCodec, string> = { h264: 'H264', vp8: 'VP8', vp9: 'VP9', opus: 'opus' };

/** SDP text for ffmpeg; video first so stream 0 is video when there is one. */
export function recorderSdp(tracks: readonly ForwardedTrack[], host: string, label: string): string {
  const ipVersion = host.includes(':') ? 'IP6' : 'IP4';
  const lines = ['v=0', `o=- 0 0 IN ${ipVersion} ${host}`, `s=${label.replace(/[\r\n]/g, ' ')}`, `c=IN ${ipVersion} ${host}`, 't=0 0'];
  const ordered = [...tracks].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'video' ? -1 : 1));
  for (const t of ordered) {
    const channels = t.kind === 'audio' && t.channels ? `/${t.channels}` : '';
    lines.push(`m=${t.kind} ${t.port} RTP/AVP ${t.payloadType}`);
    lines.push(`a=rtpmap:${t.payloadType} ${ENCODING[t.codec]}/${t.clockRate}${channels}`);
    if (t.fmtp) lines.push(`a=fmtp:${t.payloadType} ${t.fmtp.replace(/[\r\n]/g, '')}`);
    lines.push('a=recvonly');
  }
  return `${lines.join('\r\n')}\r\n`;
}
