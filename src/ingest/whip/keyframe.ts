/**
 * Recognizes the RTP packets that carry the start of a keyframe, per codec,
 * from the payload alone (no depacketizing): a recording handed to ffmpeg must
 * begin with one, or its first seconds are undecodable.
 *
 * - H.264 (RFC 6184): an SPS (7) or IDR slice (5) as a single NAL unit, inside
 *   a STAP-A (24), or as the first fragment of an FU-A (28).
 * - VP8 (RFC 7741): the first packet of a frame (S=1, partition 0) whose VP8
 *   payload header has the P (inter-frame) bit clear.
 * - VP9 (RFC 9628): the first packet of a frame (B=1) with P (inter-picture
 *   predicted) clear.
 */

export type VideoCodecName = 'h264' | 'vp8' | 'vp9';

/** True when the payload starts (or is) a keyframe of the codec. */
export function isKeyframeStart(codec: VideoCodecName, payload: Buffer): boolean {
  if (payload.length === 0) return false;
  switch (codec) {
    case 'h264':
      return h264Keyframe(payload);
    case 'vp8':
      return vp8Keyframe(payload);
    case 'vp9':
      return vp9Keyframe(payload);
  }
}

const H264_IDR = 5;
const H264_SPS = 7;
const H264_STAP_A = 24;
const H264_FU_A = 28;

function h264Keyframe(p: Buffer): boolean {
  const type = p[0] & 0x1f;
  if (type === H264_IDR || type === H264_SPS) return true;
  if (type === H264_STAP_A) {
    // Aggregated NAL units, each preceded by a 16-bit size.
    for (let off = 1; off + 2 < p.length; ) {
      const size = p.readUInt16BE(off);
      const nal = p[off + 2] & 0x1f;
      if (nal === H264_IDR || nal === H264_SPS) return true;
      off += 2 + size;
    }
    return false;
  }
  if (type === H264_FU_A && p.length > 1) {
    const start = (p[1] & 0x80) !== 0;
    const nal = p[1] & 0x1f;
    return start && (nal === H264_IDR || nal === H264_SPS);
  }
  return false;
}

function vp8Keyframe(p: Buffer): boolean {
  const x = (p[0] & 0x80) !== 0;
  const s = (p[0] & 0x10) !== 0;
  const pid = p[0] & 0x07;
  if (!s || pid !== 0) return false;
  let off = 1;
  if (x) {
    if (p.length < 2) return false;
    const ext = p[1];
    off = 2;
    if (ext & 0x80) {
      // Picture id: 7 bits, or 15 when its M bit is set.
      if (p.length <= off) return false;
      off += p[off] & 0x80 ? 2 : 1;
    }
    if (ext & 0x40) off += 1; // TL0PICIDX
    if (ext & 0x30) off += 1; // TID/Y/KEYIDX
  }
  if (p.length <= off) return false;
  // VP8 payload header: bit 0 of the first byte is P, 0 for keyframes.
  return (p[off] & 0x01) === 0;
}

function vp9Keyframe(p: Buffer): boolean {
  const interPicture = (p[0] & 0x40) !== 0;
  const beginning = (p[0] & 0x08) !== 0;
  return beginning && !interPicture;
}
