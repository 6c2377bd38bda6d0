/**
 * How WHIP media should reach the recorder's ffmpeg, measured on the same packets:
 *
 *   rtp-udp    what the server does: MediaTap → RtpFeed forwards each RTP/RTCP packet over loopback UDP, and
 *              ffmpeg reads them by an SDP (its RTP demuxer reorders, depacketizes and syncs by sender reports);
 *   webm-pipe  werift's own Matroska writer, wired as its WebmFactory wires it: jitter buffer → NTP time from the
 *              sender reports → depacketizer → lip sync → WebmCallback, whose bytes go to ffmpeg's stdin.
 *
 * Both ffmpegs get the plan the server builds (fragmented MP4, HLS, previews; video copied, Opus → AAC). One
 * 720p30 H.264 (constrained baseline, a keyframe every 2 s, as a browser asked for PLIs sends) + Opus stream is
 * sent once in real time by ffmpeg's RTP muxer and captured with its arrival times; every round replays it into
 * one path in real time, as werift would hand it over (parsed packets). The paths take turns, `--rounds` each.
 *
 *   npm run bench:whip-writer                       # 3 rounds of 20 s per path
 *   npm run bench:whip-writer -- --rounds 5 --seconds 30
 *   npm run bench:whip-writer -- --sync --rounds 1  # the flash/beep file of the whip-sync test instead: A/V offsets
 *   … --werift-keyframes                            # werift's own keyframe flag alone (misses STAP-A keyframes)
 *
 * Columns: CPU of this node process (minus a replay-only baseline round: the cost of the hand-off itself),
 * of ffmpeg, and their sum, in % of one core over the steady window; ffmpeg's peak RSS; the recording's length and
 * whether it decodes; with `--sync`, the worst beep-to-flash offset (whip-sync asks for 15 ms).
 */
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { RtpPacket, RtcpPacketConverter, RtcpSrPacket, type RtcpPacket } from 'werift';
import { DepacketizeCallback, JitterBufferCallback, LipsyncCallback, NtpTimeCallback, RtcpSourceCallback, RtpSourceCallback, WebmCallback } from 'werift/nonstandard';
import { MediaTap } from '../src/ingest/whip/media-tap.js';
import { RtpFeed } from '../src/ingest/whip/rtp-feed.js';
import { PortAllocator } from '../src/ingest/whip/port-allocator.js';
import type { ChosenTrack, TrackKind } from '../src/ingest/whip/offer.js';
import type { FeedInput, FeedTarget, MediaFeed } from '../src/ingest/types.js';
import { recordingPlan } from '../src/recording/ffmpeg-args.js';
import { Recorder } from '../src/recording/recorder.js';
import { DataLayout } from '../src/recording/layout.js';
import { recordingPaths } from '../src/recording/paths.js';
import type { RecordingManifest } from '../src/recording/manifest.js';
import { configSchema } from '../src/config/schema.js';
import { createLogger } from '../src/log/logger.js';
import { allProcesses, cpuBetween, cpuSnapshot, treeOf } from './lib/proc-tree.js';
import { measureSync, syncCaptureFiles, syncEncodedFile } from '../test/helpers/whip.js';

const { values: opts } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, seconds: { type: 'string', default: '20' }, sync: { type: 'boolean', default: false }, 'werift-keyframes': { type: 'boolean', default: false } } });
const ROUNDS = Number(opts.rounds);
const SECONDS = Number(opts.seconds);
/** Left out of the measured window at the start of a round (ffmpeg starting, buffers filling). */
const WARMUP_S = 4;
const log = createLogger('silent');
const VIDEO: ChosenTrack = { kind: 'video', mid: '1', codec: 'h264', payloadType: 102, clockRate: 90000, fmtp: 'packetization-mode=1;profile-level-id=42e01f', pli: true };
const AUDIO: ChosenTrack = { kind: 'audio', mid: '0', codec: 'opus', payloadType: 111, clockRate: 48000, channels: 2, fmtp: 'minptime=10;useinbandfec=1', pli: false };

interface Captured {
  at: number;
  kind: TrackKind;
  rtp?: RtpPacket;
  rtcp?: RtcpPacket[];
}

/** The source: a busy 720p30 picture at ~2.5 Mbit/s and a tone, encoded once and cached. */
function sourceFile(): string {
  const file = path.join(os.tmpdir(), `bc-whip-writer-${SECONDS + 2}s.mkv`);
  if (existsSync(file)) return file;
  const tmp = `${file}.${process.pid}.tmp`;
  execFileSync('ffmpeg', [
    '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(SECONDS + 2), '-c:v', 'libx264', '-profile:v', 'baseline', '-preset', 'veryfast', '-b:v', '2500k', '-maxrate', '2500k', '-bufsize', '2500k',
    '-g', '60', '-bf', '0', '-c:a', 'libopus', '-b:a', '64k', '-ac', '2', '-f', 'matroska', tmp,
  ]);
  renameSync(tmp, file);
  return file;
}

function bind(): Promise<dgram.Socket> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
}

/** Sends the source once in real time with ffmpeg's RTP muxer (sender reports included) and keeps every packet, parsed. */
async function capture(file: string): Promise<Captured[]> {
  const out: Captured[] = [];
  const start = performance.now();
  const sockets = { video: [await bind(), await bind()], audio: [await bind(), await bind()] };
  for (const kind of ['video', 'audio'] as const) {
    sockets[kind][0].on('message', (d: Buffer) => out.push({ at: performance.now() - start, kind, rtp: RtpPacket.deSerialize(d) }));
    sockets[kind][1].on('message', (d: Buffer) => out.push({ at: performance.now() - start, kind, rtcp: RtcpPacketConverter.deSerialize(d) }));
  }
  const port = (s: dgram.Socket) => (s.address() as { port: number }).port;
  const url = (kind: 'video' | 'audio') => `rtp://127.0.0.1:${port(sockets[kind][0])}?rtcpport=${port(sockets[kind][1])}&pkt_size=1200`;
  const sender = spawn('ffmpeg', [
    '-v', 'error', '-re', '-i', file,
    '-map', '0:v', '-c', 'copy', '-bsf:v', 'h264_mp4toannexb', '-payload_type', '102', '-f', 'rtp', url('video'),
    '-map', '0:a', '-c', 'copy', '-payload_type', '111', '-f', 'rtp', url('audio'),
  ], { stdio: 'ignore' });
  await new Promise((r) => sender.on('exit', r));
  await new Promise((r) => setTimeout(r, 200));
  for (const s of [...sockets.video, ...sockets.audio]) s.close();
  return out;
}

/** Hands each captured packet to `deliver` at its arrival time (5 ms ticks); resolves after the last. */
function replay(packets: Captured[], deliver: (p: Captured) => void): { done: Promise<void>; started: number } {
  const started = performance.now();
  let i = 0;
  const done = new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now() - started;
      while (i < packets.length && packets[i].at <= now) deliver(packets[i++]);
      if (i < packets.length) setTimeout(tick, 5);
      else resolve();
    };
    tick();
  });
  return { done, started };
}

/** Whether an Annex B access unit holds an IDR slice (NAL type 5). */
function hasIdr(au: Buffer): boolean {
  for (let i = 0; i + 3 < au.length; i++) {
    if (au[i] === 0 && au[i + 1] === 0 && au[i + 2] === 1 && (au[i + 3] & 0x1f) === 5) return true;
  }
  return false;
}

/** werift's Matroska writer as a feed: its bytes are piped to ffmpeg's stdin (`-f matroska -i pipe:0`). */
class WebmPipeFeed implements MediaFeed {
  readonly hasVideo = true;
  readonly hasAudio = true;
  readonly videoCodec = 'h264';
  readonly audioCodec = 'opus';
  readonly mp4VideoCodecs: ReadonlySet<string> = new Set(['h264']);
  readonly keyframeDecoding = true;
  private readonly sources = new Map<TrackKind, { rtp: RtpSourceCallback; rtcp: RtcpSourceCallback }>();
  private readonly webm: WebmCallback;
  private readonly pending: Buffer[] = [];
  private stdin?: NodeJS.WritableStream | null;
  private ended = false;

  constructor() {
    this.webm = new WebmCallback([
      { kind: 'video', codec: 'MPEG4/ISO/AVC', clockRate: 90000, trackNumber: 1, width: 1280, height: 720 },
      { kind: 'audio', codec: 'OPUS', clockRate: 48000, trackNumber: 2 },
    ], { duration: 1000 * 60 * 60 * 24 });
    const lipsync = new LipsyncCallback({});
    for (const kind of ['video', 'audio'] as const) {
      const rtp = new RtpSourceCallback();
      const rtcp = new RtcpSourceCallback();
      const clockRate = kind === 'video' ? 90000 : 48000;
      const time = new NtpTimeCallback(clockRate);
      rtcp.pipe(time.input);
      if (kind === 'video') {
        const depacketizer = new DepacketizeCallback('MPEG4/ISO/AVC', { isFinalPacketInSequence: (h) => h.marker });
        const jitter = new JitterBufferCallback(clockRate, {});
        rtp.pipe(jitter.input);
        jitter.pipe(time.input);
        time.pipe(depacketizer.input);
        // werift (0.24) takes a frame for a keyframe only when its first NAL unit is an IDR slice: a keyframe sent as
        // one STAP-A (SPS, PPS, IDR) is missed and the writer would wait for one forever, so each frame is checked here.
        depacketizer.pipe((o) => {
          if (o.frame && !o.frame.isKeyframe && !opts['werift-keyframes']) o.frame.isKeyframe = hasIdr(o.frame.data);
          lipsync.inputVideo(o);
        });
        lipsync.pipeVideo(this.webm.inputVideo);
      } else {
        const depacketizer = new DepacketizeCallback('OPUS');
        rtp.pipe(time.input);
        time.pipe(depacketizer.input);
        depacketizer.pipe(lipsync.inputAudio);
        lipsync.pipeAudio(this.webm.inputAudio);
      }
      this.sources.set(kind, { rtp, rtcp });
    }
    this.webm.pipe(async (o) => {
      if (!o.saveToFile) return;
      if (this.stdin) this.stdin.write(o.saveToFile);
      else this.pending.push(o.saveToFile);
    });
  }

  deliver(p: Captured): void {
    const s = this.sources.get(p.kind)!;
    if (p.rtp) s.rtp.input(p.rtp.clone());
    for (const r of p.rtcp ?? []) s.rtcp.input(r);
  }

  mediaStartedAt(): number | undefined {
    return undefined;
  }
  input(): FeedInput {
    return { options: ['-f', 'matroska'] };
  }
  attach(target: FeedTarget): void {
    this.stdin = target.stdin;
    for (const b of this.pending.splice(0)) this.stdin?.write(b);
  }
  queuedBytes(): number {
    return 0;
  }
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const s of this.sources.values()) s.rtp.stop();
    setTimeout(() => this.stdin?.end(), 500);
  }
  close(): void {
    this.webm.destroy();
  }
}

type PathName = 'replay only' | 'rtp-udp' | 'webm-pipe';
interface Round {
  path: PathName;
  nodePct: number;
  ffmpegPct: number;
  ffmpegRssMb: number;
  durationS: number;
  decodes: boolean;
  /** Worst beep − flash offset, ms (`--sync`). */
  worstSyncMs?: number;
}

async function round(name: PathName, packets: Captured[]): Promise<Round> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bc-whip-writer-'));
  try {
    const layout = new DataLayout(dir);
    layout.ensureApp('live');
    const manifest: RecordingManifest = {
      version: 1, recordingId: `writer-${name}`, app: 'live', streamId: 'w', protocol: 'whip', name: 'w', startedAt: new Date().toISOString(),
      liveContainer: 'fmp4', mp4: true, hls: true, previews: true, previewFormat: 'jpg', previewHeight: 480,
    };
    const paths = recordingPaths(layout, manifest);
    mkdirSync(paths.workDir, { recursive: true });
    const app = configSchema.parse({}).applications[0];
    let recorder: Recorder | undefined;
    let feed: MediaFeed | undefined;
    let deliver: (p: Captured) => void = () => {};
    let tap: MediaTap | undefined;
    if (name === 'rtp-udp') {
      const t = new MediaTap([VIDEO, AUDIO]);
      tap = t;
      // As whip-session hands werift's packets over: serialized again, sender reports alone.
      deliver = (p) => {
        if (p.rtp) t.rtp(p.kind, p.rtp.header.timestamp, p.rtp.payload, p.rtp.serialize());
        for (const r of p.rtcp ?? []) if (r instanceof RtcpSrPacket) t.senderReport(p.kind, r.serialize());
      };
    } else if (name === 'webm-pipe') {
      const f = new WebmPipeFeed();
      feed = f;
      deliver = (p) => f.deliver(p);
    }
    const run = replay(packets, (p) => deliver(p));
    if (tap) {
      await tap.ready();
      feed = await RtpFeed.open({ tap, ports: new PortAllocator({ range: [20000, 29999], host: '127.0.0.1' }), host: '127.0.0.1', label: 'whip-writer bench', log });
    }
    if (feed) {
      const { descriptor } = feed.input();
      if (descriptor !== undefined) writeFileSync(paths.descriptor, descriptor);
      const plan = recordingPlan({ manifest, feed, paths, hlsTime: app.hlsTime, preview: app.previews });
      recorder = new Recorder({ ffmpegPath: 'ffmpeg', plan, feed, log });
      recorder.start();
    }
    await new Promise((r) => setTimeout(r, WARMUP_S * 1000 - (performance.now() - run.started)));
    const tree = () => treeOf([process.pid], allProcesses());
    const before = cpuSnapshot(tree());
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let peakRss = 0;
    const sampler = setInterval(() => {
      const rss = tree().filter((p) => p.comm === 'ffmpeg').reduce((s, p) => s + p.rssKb, 0) / 1024;
      peakRss = Math.max(peakRss, rss);
    }, 1000);
    await run.done;
    clearInterval(sampler);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const byComm = cpuBetween(before, cpuSnapshot(tree()), seconds).byComm;
    const nodePct = ((cpu.user + cpu.system) / 1e6 / seconds) * 100;
    let durationS = 0;
    let decodes = false;
    let worstSyncMs: number | undefined;
    if (recorder && feed) {
      await new Promise((r) => setTimeout(r, 300));
      const exit = await recorder.stop();
      if (!exit.ok) console.log(`  ${name}: the recorder failed: ${exit.error}`);
      if (exit.ok) {
        durationS = Number(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', paths.live]).toString().trim());
        const check = spawnSync('ffmpeg', ['-v', 'error', '-i', paths.live, '-f', 'null', '-']);
        decodes = check.status === 0 && check.stderr.toString().trim() === '';
        if (opts.sync) worstSyncMs = Math.max(...(await measureSync(paths.live)).offsets.map((o) => Math.abs(o) * 1000));
      }
      feed.close();
    }
    tap?.end();
    return { path: name, nodePct, ffmpegPct: byComm.ffmpeg ?? 0, ffmpegRssMb: peakRss, durationS, decodes, worstSyncMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const file = opts.sync ? await syncEncodedFile(await syncCaptureFiles()) : sourceFile();
console.log(`capturing ${SECONDS} s of 720p30 H.264 + Opus over RTP …`);
const packets = (await capture(file)).filter((p) => p.at <= (SECONDS + 1) * 1000);
console.log(`${packets.length} packets`);
const rounds: Round[] = [];
for (let i = 0; i < ROUNDS; i++) {
  for (const name of ['replay only', 'rtp-udp', 'webm-pipe'] as const) {
    const r = await round(name, packets);
    rounds.push(r);
    console.log(`round ${i + 1} ${name}: node ${r.nodePct.toFixed(2)} %, ffmpeg ${r.ffmpegPct.toFixed(2)} %, ffmpeg RSS ${r.ffmpegRssMb.toFixed(0)} MB, ${r.durationS.toFixed(2)} s, decodes ${r.decodes}${r.worstSyncMs === undefined ? '' : `, worst A/V offset ${r.worstSyncMs.toFixed(0)} ms`}`);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const baseline = median(rounds.filter((r) => r.path === 'replay only').map((r) => r.nodePct));
console.log(`\nnpm run bench:whip-writer --${opts.sync ? ' --sync' : ''} --rounds ${ROUNDS} --seconds ${SECONDS}   (medians of ${ROUNDS} rounds; % of one core)\n`);
console.log('| path | node (hand-off) | ffmpeg | sum | ffmpeg RSS MB | recorded s | decodes | worst A/V offset ms |');
console.log('|---|---|---|---|---|---|---|---|');
for (const name of ['rtp-udp', 'webm-pipe'] as const) {
  const rs = rounds.filter((r) => r.path === name);
  const nodePct = median(rs.map((r) => r.nodePct)) - baseline;
  const ff = median(rs.map((r) => r.ffmpegPct));
  console.log(`| ${name} | ${nodePct.toFixed(2)} | ${ff.toFixed(2)} | ${(nodePct + ff).toFixed(2)} | ${median(rs.map((r) => r.ffmpegRssMb)).toFixed(0)} | ${rs.map((r) => r.durationS.toFixed(2)).join(', ')} | ${rs.every((r) => r.decodes) ? 'yes' : 'no'} | ${opts.sync ? rs.map((r) => r.worstSyncMs?.toFixed(0)).join(', ') : '-'} |`);
}
console.log(`\nreplay-only baseline (subtracted from node): ${baseline.toFixed(2)} %`);
process.exit(0);
