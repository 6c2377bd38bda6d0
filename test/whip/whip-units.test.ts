/**
 * Pure pieces of WHIP ingest: offer checks and codec choice, keyframe
 * detection, the recorder's SDP, trickle fragments, RTCP BYE, port pairs, and
 * the ICE-server Link headers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { planOffer } from '../../src/ingest/whip/offer.js';
import { isKeyframeStart } from '../../src/ingest/whip/keyframe.js';
import { recorderSdp } from '../../src/ingest/whip/recorder-sdp.js';
import { parseTrickleFragment } from '../../src/ingest/whip/trickle.js';
import { h264Primer, rtcpBye } from '../../src/ingest/whip/rtp-feed.js';
import { PortAllocator } from '../../src/ingest/whip/port-allocator.js';
import { iceServerLinks } from '../../src/ingest/whip/whip-routes.js';
import { AppError } from '../../src/errors.js';
import { configSchema } from '../../src/config/schema.js';
import { teeTarget } from '../../src/recording/ffmpeg-args.js';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { browserLikeOffer } from '../helpers/whip.js';

function refusal(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof AppError, `AppError expected, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a refusal');
}

test('the offer picks H.264 over VP8, the offerer\'s first packetization-mode=1 profile, and Opus', () => {
  const sdp = browserLikeOffer({ videoCodecs: ['96 VP8/90000', '102 H264/90000', '127 H264/90000'] })
    .replace('a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f', 'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f')
    .replace('a=fmtp:127 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f', 'a=fmtp:127 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640c1f');
  const plan = planOffer(sdp);
  assert.equal(plan.video?.codec, 'h264');
  assert.equal(plan.video?.payloadType, 127, 'packetization-mode=1 wins over an earlier mode 0');
  assert.match(plan.video?.fmtp ?? '', /profile-level-id=640c1f/, 'the offered profile, not an assumed one');
  assert.equal(plan.video?.pli, true);
  assert.equal(plan.audio?.codec, 'opus');
  assert.equal(plan.audio?.payloadType, 111);
  assert.equal(plan.audio?.channels, 2);
});

test('VP8-only and VP9-only offers are accepted; audio-only and video-only too', () => {
  assert.equal(planOffer(browserLikeOffer({ videoCodecs: ['96 VP8/90000'] })).video?.codec, 'vp8');
  assert.equal(planOffer(browserLikeOffer({ videoCodecs: ['98 VP9/90000'] })).video?.codec, 'vp9');
  const audioOnly = browserLikeOffer().split('m=video')[0];
  assert.equal(planOffer(audioOnly).video, undefined);
  assert.equal(planOffer(audioOnly).audio?.codec, 'opus');
});

test('malformed offers are refused with a message naming the problem', () => {
  const cases: Array<[string, RegExp]> = [
    ['hello', /v=0/],
    ['v=0\r\nthis is not sdp\r\n', /not an SDP line/],
    ['v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n', /no audio or video/],
    [browserLikeOffer().replace(/a=ice-ufrag:.*\r\n/g, ''), /ice-ufrag/],
    [browserLikeOffer().replace(/a=fingerprint:.*\r\n/g, ''), /fingerprint/],
    [browserLikeOffer().replace(/a=ssrc:.*\r\n/g, ''), /a=ssrc/],
    [browserLikeOffer().replace(/a=sendonly/g, 'a=recvonly'), /recvonly/],
    [browserLikeOffer() + browserLikeOffer().slice(browserLikeOffer().indexOf('m=video')).replace('a=mid:1', 'a=mid:2'), /more than one video/],
  ];
  for (const [sdp, message] of cases) {
    const err = refusal(() => planOffer(sdp));
    assert.equal(err.status, 400);
    assert.equal(err.code, 'bad_offer');
    assert.match(err.message, message);
  }
});

test('an offer without a codec bucketcast records is refused, naming what was offered', () => {
  const av1 = refusal(() => planOffer(browserLikeOffer({ videoCodecs: ['45 AV1/90000', '46 rtx/90000'] })));
  assert.equal(av1.status, 400);
  assert.equal(av1.code, 'no_supported_codec');
  assert.match(av1.message, /video track offers AV1/);
  assert.match(av1.message, /H264, VP8 or VP9/);
  const pcmu = refusal(() => planOffer(browserLikeOffer({ audioCodecs: ['0 PCMU/8000'] })));
  assert.match(pcmu.message, /audio track offers PCMU; .*Opus/);
});

test('keyframe starts are recognized per codec', () => {
  // H.264: STAP-A with SPS, FU-A start of IDR, FU-A middle of IDR, single P slice.
  assert.equal(isKeyframeStart('h264', Buffer.from([0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce])), true);
  assert.equal(isKeyframeStart('h264', Buffer.from([0x7c, 0x85, 0x88])), true);
  assert.equal(isKeyframeStart('h264', Buffer.from([0x7c, 0x05, 0x88])), false);
  assert.equal(isKeyframeStart('h264', Buffer.from([0x41, 0x9a])), false);
  assert.equal(isKeyframeStart('h264', Buffer.from([0x65, 0x88])), true);
  // VP8: descriptor S=1 PID=0, then P bit 0 = keyframe; with extended picture id.
  assert.equal(isKeyframeStart('vp8', Buffer.from([0x10, 0x00, 0x9d])), true);
  assert.equal(isKeyframeStart('vp8', Buffer.from([0x10, 0x01, 0x9d])), false);
  assert.equal(isKeyframeStart('vp8', Buffer.from([0x00, 0x00])), false, 'not the start of a partition');
  assert.equal(isKeyframeStart('vp8', Buffer.from([0x90, 0x80, 0x81, 0x23, 0x00])), true);
  assert.equal(isKeyframeStart('vp8', Buffer.from([0x90, 0x80, 0x81, 0x23, 0x01])), false);
  // VP9: B=1 and P=0.
  assert.equal(isKeyframeStart('vp9', Buffer.from([0x08])), true);
  assert.equal(isKeyframeStart('vp9', Buffer.from([0x48])), false);
  assert.equal(isKeyframeStart('vp9', Buffer.from([0x00])), false);
});

test('the recorder SDP names the negotiated payload types, codecs, fmtp and ports, video first', () => {
  const plan = planOffer(browserLikeOffer());
  const sdp = recorderSdp(
    [
      { ...plan.audio!, port: 20002 },
      { ...plan.video!, port: 20000 },
    ],
    '127.0.0.1',
    'bucketcast live/cam',
  );
  const lines = sdp.split('\r\n');
  assert.equal(lines[0], 'v=0');
  assert.ok(lines.includes('c=IN IP4 127.0.0.1'));
  const video = lines.indexOf('m=video 20000 RTP/AVP 102');
  const audio = lines.indexOf('m=audio 20002 RTP/AVP 111');
  assert.ok(video > 0 && audio > video, sdp);
  assert.ok(lines.includes('a=rtpmap:102 H264/90000'));
  assert.ok(lines.includes('a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f'));
  assert.ok(lines.includes('a=rtpmap:111 opus/48000/2'));
});

test('trickle fragments yield candidates with their mid; garbage is refused', () => {
  const frag = parseTrickleFragment('a=ice-ufrag:Ab1c\r\na=ice-pwd:x\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\na=candidate:1 1 udp 2113937151 192.0.2.1 5000 typ host\r\na=end-of-candidates\r\n');
  assert.equal(frag.ufrag, 'Ab1c');
  assert.deepEqual(frag.candidates, [{ candidate: 'candidate:1 1 udp 2113937151 192.0.2.1 5000 typ host', mid: '0' }]);
  assert.equal(frag.endOfCandidates, true);
  assert.equal(refusal(() => parseTrickleFragment('not a fragment')).status, 400);
  assert.equal(refusal(() => parseTrickleFragment('a=candidate:1 1 udp')).status, 400);
});

test('RTCP BYE is long enough for ffmpeg (>= 12 bytes) and well formed', () => {
  const bye = rtcpBye(0xdeadbeef);
  assert.ok(bye.length >= 12);
  assert.equal(bye[0] >> 6, 2, 'version 2');
  assert.equal(bye[0] & 0x1f, 1, 'one source');
  assert.equal(bye[1], 203);
  assert.equal((bye.readUInt16BE(2) + 1) * 4, bye.length);
  assert.equal(bye.readUInt32BE(4), 0xdeadbeef);
});

test('the H.264 primer is a non-key frame just before the keyframe', () => {
  const key = Buffer.alloc(20);
  key[0] = 0x90; // extension bit set
  key[1] = 102;
  key.writeUInt16BE(0, 2);
  key.writeUInt32BE(1000, 4);
  key.writeUInt32BE(42, 8);
  const primer = h264Primer(key);
  assert.equal(primer[0], 0x80, 'plain header');
  assert.equal(primer[1], 0x80 | 102, 'same payload type, marker set');
  assert.equal(primer.readUInt16BE(2), 0xffff, 'previous sequence number (wraps)');
  assert.equal(primer.readUInt32BE(4), (1000 - 3000) >>> 0, 'one frame earlier');
  assert.equal(primer.readUInt32BE(8), 42, 'same SSRC');
  assert.equal(isKeyframeStart('h264', primer.subarray(12)), false);
});

test('port pairs are even, free, and never handed out twice', async () => {
  const ports = new PortAllocator({ range: [20100, 20111], host: '127.0.0.1' });
  // Occupy one pair from outside: the allocator must skip it.
  const blocker = dgram.createSocket('udp4');
  await new Promise<void>((r) => blocker.bind(20105, '127.0.0.1', () => r()));
  try {
    const got = await ports.allocate(5);
    assert.equal(new Set(got).size, 5);
    for (const p of got) {
      assert.equal(p % 2, 0);
      assert.ok(p >= 20100 && p + 1 <= 20111);
      assert.notEqual(p, 20104, 'the pair with a bound RTCP port is skipped');
    }
    await assert.rejects(ports.allocate(1), (e: AppError) => e.status === 503 && /no free UDP port pair/.test(e.message));
    ports.release(got.slice(0, 1));
    assert.deepEqual(await ports.allocate(1), got.slice(0, 1));
  } finally {
    blocker.close();
  }
});

test('ICE servers are announced as RFC 9725 Link headers', () => {
  const whip = configSchema.parse({ whip: { iceServers: [{ urls: 'stun:stun.example.net:3478' }, { urls: ['turn:turn.example.net?transport=udp'], username: 'u', credential: 'p"w' }] } }).whip;
  assert.deepEqual(iceServerLinks(whip), [
    '<stun:stun.example.net:3478>; rel="ice-server"',
    '<turn:turn.example.net?transport=udp>; rel="ice-server"; username="u"; credential="p\\"w"; credential-type="password"',
  ]);
});

test('whip settings: defaults, ranges and unknown keys', () => {
  const c = configSchema.parse({});
  assert.equal(c.whip.enabled, true);
  assert.deepEqual([...c.whip.recorderPortRange], [20000, 29999]);
  assert.equal(c.whip.mediaTimeoutSeconds, 5);
  assert.equal(c.applications[0].whip.requireMp4, false);
  assert.equal(configSchema.safeParse({ whip: { mediaTimeoutSeconds: 10 } }).success, false, 'ffmpeg gives up after 10 s of silence');
  assert.equal(configSchema.safeParse({ whip: { recorderPortRange: [3000, 3000] } }).success, false);
  assert.equal(configSchema.safeParse({ whip: { bogus: 1 } }).success, false);
  assert.equal(configSchema.safeParse({ applications: [{ name: 'live', whip: { requireMP4: true } }] }).success, false);
});

test('the tee muxer target survives paths with characters ffmpeg treats as separators', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'bc-tee-'));
  const dir = path.join(root, "a b:c'd|e[f]");
  mkdirSync(dir);
  try {
    const target = teeTarget([
      { format: 'mp4', file: path.join(dir, 'x.mp4'), options: [['movflags', '+faststart']] },
      { format: 'hls', file: path.join(dir, 'p.m3u8'), options: [['bsfs/v', 'h264_mp4toannexb'], ['hls_time', '1'], ['hls_segment_filename', path.join(dir, 's_%03d.ts')]] },
    ]);
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=10', '-t', '2', '-map', '0:v', '-c:v', 'libx264', '-flags:v', '+global_header', '-f', 'tee', target]);
    for (const f of ['x.mp4', 'p.m3u8', 's_000.ts']) assert.ok(existsSync(path.join(dir, f)), `${f} written where asked`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
