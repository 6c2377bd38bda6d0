/**
 * Soak run (issue 8): `npm run soak -- --minutes 30`. Not part of `npm test`.
 *
 * Starts bucketcast (the real server, through the test helper) with uploads
 * on, to an s3rver on loopback in its own process (so its memory is not the
 * server's), and pushes a rotating set of streams (16 by default, each a few
 * minutes long, staggered so they start and end at different times; a slot
 * that ends starts again a moment later under the same stream id). Every
 * minute it prints: live streams, recordings completed vs uploaded, the
 * server's RSS (node alone, and with its ffmpeg children), open file
 * descriptors (node, and with children), V8 heap, and event-loop delay (from
 * `/healthz`, over that minute). At the end it stops pushing, waits until
 * every recording is uploaded, and gives a verdict on whether memory and
 * descriptors stayed flat: the slope of a least-squares line over the last
 * 10 minutes (the last half of shorter runs), per minute.
 *
 * Options: --minutes 30, --streams 16, --stream-seconds 180, --json FILE,
 * --keep (keep the data dirs).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, type TestServer } from '../test/helpers/server.js';
import { fixture } from '../test/helpers/fixtures.js';
import { readStat, treeOf } from './lib/proc-tree.js';
import { killAllPushers, startPusher, stopPushers, type Pusher } from './lib/pushers.js';

interface Options {
  minutes: number;
  streams: number;
  streamSeconds: number;
  json?: string;
  keep: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { minutes: 30, streams: 16, streamSeconds: 180, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--minutes') o.minutes = Number(next());
    else if (a === '--streams') o.streams = Number(next());
    else if (a === '--stream-seconds') o.streamSeconds = Number(next());
    else if (a === '--json') o.json = next();
    else if (a === '--keep') o.keep = true;
    else throw new Error(`unknown option ${a} (--minutes N, --streams N, --stream-seconds N, --json FILE, --keep)`);
  }
  if (!(o.minutes > 0 && o.streams > 0 && o.streamSeconds >= 10)) throw new Error('--minutes and --streams must be positive, --stream-seconds at least 10');
  return o;
}

interface Sample {
  minute: number;
  live: number;
  started: number;
  completed: number;
  uploaded: number;
  uploadFailures: number;
  rssMiB: number;
  treeRssMiB: number;
  heapMiB: number;
  fds: number;
  treeFds: number;
  processes: number;
  loopP99Ms: number;
  loopMaxMs: number;
}

const MiB = 1024 * 1024;

function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

/** Starts s3rver (bench/upload-s3rver.ts) in its own process; resolves with its port. */
async function startS3(dir: string, bucket: string): Promise<{ proc: ChildProcess; port: number }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./upload-s3rver.js', import.meta.url)), dir, bucket], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (d: string) => {
      buf += d;
      const m = /\{"port":(\d+)\}/.exec(buf);
      if (m) resolve(Number(m[1]));
      // Part lines are not needed here: keep the buffer from growing.
      if (buf.length > 65536) buf = buf.slice(-1024);
    });
    proc.on('exit', (code) => reject(new Error(`s3rver exited (${code})`)));
  });
  return { proc, port };
}

/** Least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

const pad = (v: string | number, n: number) => String(v).padStart(n);

function printHeader(): void {
  console.log(`${pad('min', 4)} ${pad('live', 5)} ${pad('started', 8)} ${pad('completed', 10)} ${pad('uploaded', 9)} ${pad('upl.fail', 9)} ${pad('RSS MiB', 8)} ${pad('tree RSS', 9)} ${pad('heap MiB', 9)} ${pad('fds', 5)} ${pad('tree fds', 9)} ${pad('procs', 6)} ${pad('loop p99 ms', 12)} ${pad('loop max ms', 12)}`);
}

function printSample(s: Sample): void {
  console.log(
    `${pad(s.minute, 4)} ${pad(s.live, 5)} ${pad(s.started, 8)} ${pad(s.completed, 10)} ${pad(s.uploaded, 9)} ${pad(s.uploadFailures, 9)} ${pad(s.rssMiB.toFixed(0), 8)} ${pad(s.treeRssMiB.toFixed(0), 9)} ${pad(s.heapMiB.toFixed(0), 9)} ${pad(s.fds, 5)} ${pad(s.treeFds, 9)} ${pad(s.processes, 6)} ${pad(s.loopP99Ms.toFixed(1), 12)} ${pad(s.loopMaxMs.toFixed(1), 12)}`,
  );
}

async function sample(server: TestServer, minute: number): Promise<Sample> {
  const pid = server.proc.pid!;
  const h = (await (await fetch(`${server.httpUrl}/healthz`)).json()) as {
    liveStreams: number;
    eventLoopDelay: { p99Ms: number; maxMs: number };
    memory: { heapUsedMiB: number };
  };
  const tree = treeOf([pid]);
  const count = (msg: string) => server.logs.filter((l) => l.msg === msg).length;
  return {
    minute,
    live: h.liveStreams,
    started: count('recording started'),
    completed: count('recording completed'),
    uploaded: count('recording uploaded'),
    uploadFailures: count('upload failed, will retry') + count('upload failed; the file is kept until the settings change or a retry is requested'),
    rssMiB: (readStat(pid)?.rssKb ?? 0) / 1024,
    treeRssMiB: tree.reduce((s, p) => s + p.rssKb, 0) / 1024,
    heapMiB: h.memory.heapUsedMiB,
    fds: fdCount(pid),
    treeFds: tree.reduce((s, p) => s + fdCount(p.pid), 0),
    processes: tree.length,
    loopP99Ms: h.eventLoopDelay.p99Ms,
    loopMaxMs: h.eventLoopDelay.maxMs,
  };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const bucket = 'soak';
  const s3Dir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-soak-s3-'));
  const s3 = await startS3(s3Dir, bucket);
  for (const k of Object.keys(process.env)) if (k.startsWith('BUCKETCAST_')) delete process.env[k];
  const server = await startServer({
    env: { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', BUCKETCAST_LOG_LEVEL: 'info', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    config: {
      applications: [{ name: 'live', s3: { bucket, endpoint: `http://127.0.0.1:${s3.port}`, region: 'us-east-1', forcePathStyle: true } }],
    },
  });
  const src = await fixture({ seconds: 60, width: 640, height: 360, videoKbps: 800 });
  console.log(`soak: ${o.minutes} min, ${o.streams} streams of ${o.streamSeconds} s (staggered, rotating), uploads to s3rver on 127.0.0.1:${s3.port}; server pid ${server.proc.pid}, data ${server.dataDir}`);
  printHeader();

  const start = Date.now();
  const end = start + o.minutes * 60_000;
  const pushers = new Set<Pusher>();
  let pushed = 0;
  let pusherFailures = 0;
  const slot = async (i: number) => {
    // Staggered first start, so streams begin and end at different moments.
    await new Promise((r) => setTimeout(r, (i * o.streamSeconds * 1000) / o.streams / 2));
    while (Date.now() < end) {
      const id = `soak${String(i).padStart(2, '0')}`;
      const seconds = Math.min(o.streamSeconds, Math.max(5, (end - Date.now()) / 1000));
      const p = startPusher(id, server.rtmpUrl('live', id), src);
      pushers.add(p);
      pushed++;
      const timer = setTimeout(() => p.proc.kill('SIGINT'), seconds * 1000);
      const r = await p.done;
      clearTimeout(timer);
      pushers.delete(p);
      if (r.code !== 0 && r.code !== 255) {
        pusherFailures++;
        console.log(`  pusher ${id} ended with ${r.code ?? r.signal}: ${r.stderr.split('\n').pop()}`);
      }
      await new Promise((r2) => setTimeout(r2, 1000 + Math.random() * 2000));
    }
  };
  const slots = Promise.all(Array.from({ length: o.streams }, (_, i) => slot(i)));

  const samples: Sample[] = [];
  await sample(server, 0); // starts the event-loop window
  for (let minute = 1; minute <= o.minutes; minute++) {
    await new Promise((r) => setTimeout(r, Math.max(0, start + minute * 60_000 - Date.now())));
    const s = await sample(server, minute);
    samples.push(s);
    printSample(s);
    if (server.proc.exitCode !== null) throw new Error('the server exited during the soak');
  }
  await stopPushers([...pushers]);
  await slots;

  // Every recording finalized and uploaded before the verdict.
  const drainStart = Date.now();
  while (Date.now() - drainStart < 180_000) {
    const s = await sample(server, o.minutes);
    if (s.live === 0 && s.completed === s.started && s.uploaded >= s.completed) break;
    await new Promise((r) => setTimeout(r, 2000));
  }
  const last = await sample(server, o.minutes);
  console.log('after the pushers stopped and uploads drained:');
  printSample(last);

  const window = samples.filter((s) => s.minute > o.minutes - Math.min(10, Math.max(2, Math.floor(o.minutes / 2))));
  const rssSlope = slope(window.map((s) => [s.minute, s.rssMiB]));
  const heapSlope = slope(window.map((s) => [s.minute, s.heapMiB]));
  const fdSlope = slope(window.map((s) => [s.minute, s.fds]));
  // Flat: under 1 MiB/min of RSS (30 MiB over 30 min), under 0.2 fd/min; fds also back to their idle count.
  const rssFlat = rssSlope < 1;
  const fdFlat = fdSlope < 0.2;
  const first = samples[0];
  console.log('');
  console.log(`pushed ${pushed} streams (${pusherFailures} pusher failures); recordings started ${last.started}, completed ${last.completed}, uploaded ${last.uploaded}; upload failures ${last.uploadFailures}`);
  console.log(`RSS (node): ${first?.rssMiB.toFixed(0)} MiB at minute 1, ${samples.at(-1)?.rssMiB.toFixed(0)} MiB at minute ${o.minutes}, ${last.rssMiB.toFixed(0)} MiB idle after; slope over the last ${window.length} min ${rssSlope >= 0 ? '+' : ''}${rssSlope.toFixed(2)} MiB/min (heap ${heapSlope >= 0 ? '+' : ''}${heapSlope.toFixed(2)} MiB/min)`);
  console.log(`descriptors (node): ${first?.fds} at minute 1, ${samples.at(-1)?.fds} at minute ${o.minutes}, ${last.fds} idle after; slope ${fdSlope >= 0 ? '+' : ''}${fdSlope.toFixed(2)}/min`);
  console.log(`event loop: p99 at most ${Math.max(...samples.map((s) => s.loopP99Ms)).toFixed(1)} ms, max ${Math.max(...samples.map((s) => s.loopMaxMs)).toFixed(1)} ms in any minute`);
  const allUploaded = last.uploaded >= last.completed && last.completed === last.started;
  console.log(`verdict: memory ${rssFlat ? 'flat' : 'GROWING'}, descriptors ${fdFlat ? 'flat' : 'GROWING'}, recordings ${allUploaded ? 'all uploaded' : 'NOT all uploaded'}`);
  if (o.json) writeFileSync(o.json, JSON.stringify({ options: o, samples, last, pushed, pusherFailures, rssSlope, heapSlope, fdSlope, rssFlat, fdFlat, allUploaded }, null, 2));

  await server.stop();
  s3.proc.kill('SIGTERM');
  if (!o.keep) {
    server.cleanup();
    rmSync(s3Dir, { recursive: true, force: true });
  }
  process.exitCode = rssFlat && fdFlat && allUploaded ? 0 : 1;
}

process.on('SIGINT', () => {
  killAllPushers();
  process.exit(130);
});
main().catch((err) => {
  killAllPushers();
  console.error(`soak failed: ${(err as Error).message}`);
  process.exit(2);
});
