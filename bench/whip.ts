/**
 * WHIP ingest benchmark: N concurrent headless Chromium publishers at 720p
 * (fake camera asked for 1280x720 through publish.html), each recorded to MP4 +
 * HLS + previews by the real server. Prints, per N, the server's CPU (the node
 * process plus its ffmpeg children, from /proc) and RSS, in total and per
 * publisher, next to the browsers' own CPU (they run on the same machine).
 * RSS per publisher is what each adds to the idle server (node + werift
 * session + its ffmpeg).
 *
 *   npm run bench:whip            # N = 1, 4, 8
 *   npm run bench:whip -- 2 6     # N = 2, 6
 *   npm run bench:whip -- --video=busy.y4m 1 4   # the fake camera plays a file
 *
 * Chromium's built-in fake camera compresses to ~0.5 Mbit/s at 720p; a busier
 * y4m (e.g. ffmpeg's testsrc2) gives a load closer to a real camera.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startServer, type TestServer } from '../test/helpers/server.js';
import { CHROMIUM_ARGS } from '../test/helpers/whip.js';
import { benchServerEntry } from './lib/bucketcast-target.js';

const WARMUP_MS = 8_000;
const MEASURE_MS = 20_000;
const TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

interface Sample {
  /** CPU ticks (user + system) of the tree. */
  ticks: number;
  /** Resident memory of the tree, bytes. */
  rss: number;
  processes: number;
}

/** Every process's parent, from /proc. */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(d), Number(fields[1]));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** CPU ticks and RSS of a process and all its descendants (or of the process alone). */
function sampleTree(root: number, alone = false): Sample {
  const ppid = alone ? new Map<number, number>() : parents();
  const tree = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, parent] of ppid) {
      if (!tree.has(pid) && tree.has(parent)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  let ticks = 0;
  let rss = 0;
  for (const pid of tree) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]); // utime, stime
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      rss += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
    } catch {
      // exited meanwhile
    }
  }
  return { ticks, rss, processes: tree.size };
}

interface Result {
  n: number;
  serverCpu: number;
  serverRssMb: number;
  /** RSS of the idle server (before any publisher), MB. */
  idleRssMb: number;
  /** CPU % of the node process alone (WebRTC, forwarding); the rest is ffmpeg. */
  nodeCpu: number;
  nodeRssMb: number;
  browserCpu: number;
  kbps: number;
  video: string;
  recorded: number;
}

async function runOnce(n: number, videoFile?: string): Promise<Result> {
  // Recordings stay local: each is probed after the run, and an upload (after the measured window) would move it away.
  const server: TestServer = await startServer({ ...benchServerEntry(), env: { BUCKETCAST_LOG_LEVEL: 'info' }, config: { applications: [{ name: 'live', s3RecordingEnabled: false }] } });
  const idle = sampleTree(server.proc.pid!);
  const args = videoFile ? [...CHROMIUM_ARGS, `--use-file-for-fake-video-capture=${path.resolve(videoFile)}`] : CHROMIUM_ARGS;
  const browserServer = await chromium.launchServer({ executablePath: '/usr/bin/chromium', headless: true, args });
  const browserPid = browserServer.process().pid!;
  let browser: Browser | undefined;
  try {
    browser = await chromium.connect(browserServer.wsEndpoint());
    const pages: Page[] = [];
    for (let i = 0; i < n; i++) {
      const page = await browser.newPage();
      await page.goto(`${server.httpUrl}/publish.html?app=live&id=bench${i}&width=1280&height=720`);
      pages.push(page);
    }
    await Promise.all(pages.map((p) => p.click('#start')));
    await Promise.all(pages.map((p) => p.waitForSelector('#state[data-state=connected]', { timeout: 60_000 })));
    for (let i = 0; i < n; i++) await server.waitForLog((l) => l.msg === 'recording started' && l.streamId === `bench${i}`, 60_000, `recording bench${i}`);
    await sleep(WARMUP_MS);
    const s0 = sampleTree(server.proc.pid!);
    const n0 = sampleTree(server.proc.pid!, true);
    const b0 = sampleTree(browserPid);
    const t0 = Date.now();
    await sleep(MEASURE_MS);
    const s1 = sampleTree(server.proc.pid!);
    const n1 = sampleTree(server.proc.pid!, true);
    const b1 = sampleTree(browserPid);
    const seconds = (Date.now() - t0) / 1000;
    await Promise.all(pages.map((p) => p.click('#stop')));
    const done = [];
    for (let i = 0; i < n; i++) done.push(await server.waitForLog((l) => l.msg === 'recording completed' && l.streamId === `bench${i}`, 60_000, `completed bench${i}`));
    // What the publishers actually sent: bitrate, size and frame rate of the recorded video.
    let bits = 0;
    let duration = 0;
    let video = '';
    for (const d of done) {
      const file = path.join(server.dataDir, 'live', 'streams', `${d.name}.mp4`);
      const probe = JSON.parse(
        execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'stream=width,height,avg_frame_rate,bit_rate,duration', '-of', 'json', file]).toString(),
      ) as { streams: Array<{ width: number; height: number; avg_frame_rate: string; bit_rate: string; duration: string }> };
      const v = probe.streams[0];
      bits += Number(v.bit_rate) * Number(v.duration);
      duration += Number(v.duration);
      const [num, den] = v.avg_frame_rate.split('/').map(Number);
      video ||= `${v.width}x${v.height}@${Math.round(num / den)}`;
    }
    return {
      n,
      serverCpu: ((s1.ticks - s0.ticks) / TICKS / seconds) * 100,
      serverRssMb: s1.rss / 1024 / 1024,
      idleRssMb: idle.rss / 1024 / 1024,
      nodeCpu: ((n1.ticks - n0.ticks) / TICKS / seconds) * 100,
      nodeRssMb: n1.rss / 1024 / 1024,
      browserCpu: ((b1.ticks - b0.ticks) / TICKS / seconds) * 100,
      kbps: duration ? bits / duration / 1000 : 0,
      video,
      recorded: done.length,
    };
  } finally {
    await browser?.close().catch(() => undefined);
    await browserServer.close().catch(() => undefined);
    await server.stop();
    server.cleanup();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const videoFile = argv.find((a) => a.startsWith('--video='))?.slice('--video='.length);
  const ns = argv.map(Number).filter((n) => n > 0);
  const list = ns.length ? ns : [1, 4, 8];
  const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  process.stdout.write(`bench:whip — ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), load average before: ${load}\n`);
  process.stdout.write(`each run: ${WARMUP_MS / 1000} s warm-up, ${MEASURE_MS / 1000} s measured; CPU % is of one core; the browsers share the machine\n`);
  process.stdout.write(`fake camera: ${videoFile ? path.resolve(videoFile) : "Chromium's built-in pattern"}\n\n`);
  const rows: Result[] = [];
  for (const n of list) rows.push(await runOnce(n, videoFile));
  const header = ['N', 'server CPU %', 'node / ffmpeg %', 'CPU %/pub', 'server RSS MB', 'node RSS MB', 'idle RSS MB', 'RSS MB/pub', 'browsers CPU %', 'video kbps/pub', 'video', 'recordings'];
  const lines = rows.map((r) => [
    String(r.n),
    r.serverCpu.toFixed(1),
    `${r.nodeCpu.toFixed(1)} / ${(r.serverCpu - r.nodeCpu).toFixed(1)}`,
    (r.serverCpu / r.n).toFixed(1),
    r.serverRssMb.toFixed(0),
    r.nodeRssMb.toFixed(0),
    r.idleRssMb.toFixed(0),
    ((r.serverRssMb - r.idleRssMb) / r.n).toFixed(0),
    r.browserCpu.toFixed(1),
    r.kbps.toFixed(0),
    r.video,
    `${r.recorded}/${r.n}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padStart(widths[i])).join(' | ')} |`;
  process.stdout.write(`${fmt(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${lines.map(fmt).join('\n')}\n`);
  process.stdout.write(`\nload average after: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
}

void main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
