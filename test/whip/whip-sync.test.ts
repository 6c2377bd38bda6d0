/**
 * "use the RTCP sender reports, not arrival time": the RTP → ffmpeg
 * path (MediaTap → RtpFeed → the recorder's real ffmpeg) keeps audio and video
 * where the sender's reports put them, whatever the arrival.
 *
 * ffmpeg's RTP muxer plays the flash/beep capture files, encoded beforehand,
 * in real time (H.264 + Opus, with sender reports); the test then spoils arrival on purpose: audio
 * before 1.5 s is dropped (audio starts later than video), audio arrives
 * 300 ms late, and its first sender report comes a second after its first
 * packet. Timed by arrival or by first packet, the beeps would land half a
 * second off their flashes; timed by the reports, they sit on them.
 * Deterministic: no browser, no capture device that lags under CPU load.
 *
 * The same recorder writes HLS and previews too: every frame is copied, the
 * video starts on a timed keyframe, the previews are written. It decodes every
 * frame: `-skip_frame nokey` over RTP made Chromium's 720p recordings fail
 * within seconds ("pts/dts pair unsupported"), though this stream passed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MediaTap } from '../../src/ingest/whip/media-tap.js';
import { RtpFeed } from '../../src/ingest/whip/rtp-feed.js';
import { PortAllocator } from '../../src/ingest/whip/port-allocator.js';
import type { ChosenTrack, TrackKind } from '../../src/ingest/whip/offer.js';
import { recordingPlan } from '../../src/recording/ffmpeg-args.js';
import { Recorder } from '../../src/recording/recorder.js';
import { DataLayout } from '../../src/recording/layout.js';
import { recordingPaths } from '../../src/recording/paths.js';
import type { RecordingManifest } from '../../src/recording/manifest.js';
import { configSchema } from '../../src/config/schema.js';
import { createLogger } from '../../src/log/logger.js';
import { measureSync, syncCaptureFiles, syncEncodedFile } from '../helpers/whip.js';

const AUDIO_STARTS_AT = 1.5;
const AUDIO_LATE_MS = 300;
const AUDIO_SR_LATE_MS = 1000;
const SECONDS = 8;

function bind(): Promise<dgram.Socket> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
}

test('audio and video stay where the sender reports put them, not where arrival does', async (t) => {
  const files = await syncCaptureFiles();
  const log = createLogger('silent');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bc-sync-'));
  const video: ChosenTrack = { kind: 'video', mid: '1', codec: 'h264', payloadType: 102, clockRate: 90000, fmtp: 'packetization-mode=1;profile-level-id=42e01f', pli: true };
  const audio: ChosenTrack = { kind: 'audio', mid: '0', codec: 'opus', payloadType: 111, clockRate: 48000, channels: 2, fmtp: 'minptime=10;useinbandfec=1', pli: false };
  const tap = new MediaTap([video, audio]);
  const sockets = { video: [await bind(), await bind()], audio: [await bind(), await bind()] };
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };
  let firstAudioRtpAt = 0;
  const receive = (kind: TrackKind) => {
    const [rtp, rtcp] = sockets[kind];
    rtp.on('message', (data: Buffer) => {
      const ts = data.readUInt32BE(4);
      const payload = data.subarray(12);
      if (kind === 'video') return tap.rtp(kind, ts, payload, data);
      if (sendersTs.audio === undefined) sendersTs.audio = ts;
      if (((ts - sendersTs.audio) >>> 0) / 48000 < AUDIO_STARTS_AT) return;
      if (!firstAudioRtpAt) firstAudioRtpAt = Date.now();
      later(AUDIO_LATE_MS, () => tap.rtp(kind, ts, payload, data));
    });
    rtcp.on('message', (data: Buffer) => {
      if (data[1] !== 200) return;
      if (kind === 'video') return tap.senderReport(kind, data);
      // The first audio report comes a second after the first (late) audio packet.
      const deliver = () => tap.senderReport(kind, data);
      if (!firstAudioRtpAt) later(AUDIO_STARTS_AT * 1000 + AUDIO_LATE_MS + AUDIO_SR_LATE_MS, deliver);
      else deliver();
    });
  };
  const sendersTs: { audio?: number } = {};
  receive('video');
  receive('audio');
  const port = (s: dgram.Socket) => (s.address() as { port: number }).port;
  // ffmpeg sends RTCP to the RTP port + 1; our sockets are consecutive only by luck, so name both ports.
  const encoded = await syncEncodedFile(files);
  const sender = spawn('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-re', '-t', String(SECONDS), '-i', encoded,
    // In-band SPS/PPS before each keyframe, as a WebRTC sender has them (the file keeps them in its header).
    '-map', '0:v', '-c', 'copy', '-bsf:v', 'h264_mp4toannexb', '-payload_type', '102', '-f', 'rtp', `rtp://127.0.0.1:${port(sockets.video[0])}?rtcpport=${port(sockets.video[1])}&pkt_size=1200`,
    '-map', '0:a', '-c', 'copy', '-payload_type', '111', '-f', 'rtp', `rtp://127.0.0.1:${port(sockets.audio[0])}?rtcpport=${port(sockets.audio[1])}&pkt_size=1200`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let senderErr = '';
  sender.stderr!.on('data', (d) => (senderErr += d));
  const senderDone = new Promise<number | null>((r) => sender.on('exit', (code) => r(code)));

  try {
    await tap.ready();
    const layout = new DataLayout(dir);
    layout.ensureApp('live');
    const manifest: RecordingManifest = {
      version: 1, recordingId: 'sync-test', app: 'live', streamId: 'sync', protocol: 'whip', name: 'sync', startedAt: new Date().toISOString(),
      liveContainer: 'fmp4', mp4: true, hls: true, previews: true, previewFormat: 'jpg', previewHeight: 480,
    };
    const paths = recordingPaths(layout, manifest);
    const feed = await RtpFeed.open({ tap, ports: new PortAllocator({ range: [20000, 29999], host: '127.0.0.1' }), host: '127.0.0.1', label: 'sync test', log });
    mkdirSync(paths.workDir, { recursive: true });
    writeFileSync(paths.descriptor, feed.sdp);
    const app = configSchema.parse({}).applications[0];
    const plan = recordingPlan({ manifest, feed, paths, hlsTime: app.hlsTime, preview: app.previews });
    assert.ok(!plan.inputOptions.includes('-skip_frame'), 'over RTP the recorder decodes every frame');
    const recorder = new Recorder({ ffmpegPath: 'ffmpeg', plan, feed, log });
    recorder.start();
    assert.equal(await senderDone, 0, senderErr);
    await new Promise((r) => setTimeout(r, AUDIO_LATE_MS + 200));
    const exit = await recorder.stop();
    assert.equal(exit.ok, true, exit.error);

    const sync = await measureSync(paths.live);
    t.diagnostic(`flashes ${JSON.stringify(sync.flashes)}; beeps ${JSON.stringify(sync.beeps)}; offsets ${JSON.stringify(sync.offsets)}`);
    assert.ok(sync.flashes.length >= SECONDS - 1, `flashes: ${sync.flashes.length}`);
    // Audio from 1.5 s on: its first beep is the one at 2 s, on the third flash (first-packet timing would put it at 0.5 s).
    assert.ok(Math.abs(sync.beeps[0] - sync.flashes[2]) < 0.1, `first beep ${sync.beeps[0]}s on the flash at ${sync.flashes[2]}s`);
    assert.ok(sync.beeps.length >= SECONDS - 3, `beeps: ${sync.beeps.length}`);
    // ffmpeg's RTP muxer maps each stream's first packet time (not its capture) to NTP, so its reports carry a few ms of skew.
    const worst = Math.max(...sync.offsets.map(Math.abs));
    assert.ok(worst < 0.1, `every beep within 100 ms of its flash (worst ${worst}s): ${JSON.stringify(sync.offsets)}`);

    // Every frame copied: the video starts on a timed keyframe, 30 frames a second.
    const packets = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'packet=dts_time,flags', '-of', 'csv=p=0', paths.live]).toString().trim().split('\n');
    const [firstDts, firstFlags] = packets[0].split(',');
    assert.ok(firstFlags.startsWith('K') && Number.isFinite(Number(firstDts)), `first video packet: ${packets[0]}`);
    assert.ok(packets.length >= (SECONDS - 1) * 30, `video packets: ${packets.length}`);
    assert.ok(readdirSync(path.dirname(paths.playlist)).some((n) => n.endsWith('.ts')), 'HLS segments written');
    assert.ok(existsSync(paths.latestPreview), 'latest preview written');
  } finally {
    sender.kill('SIGKILL');
    for (const timer of timers) clearTimeout(timer);
    tap.end();
    for (const s of [...sockets.video, ...sockets.audio]) s.close();
    if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true }); else console.log('kept', dir);
  }
});
