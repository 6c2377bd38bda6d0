/**
 * Parts soak (issue 13): `npm run soak:parts -- --minutes 30 --segment-seconds 60`.
 * Not part of `npm test`.
 *
 * One stream pushed for the whole run (a looped fixture, real time) to a
 * server with `recordSegmentSeconds` set, uploading to s3rver in its own
 * process. Every second it measures the media on the server's local disk
 * (MP4 parts in the work dir and streams folder; HLS segments reported
 * apart) and the upload backlog (`/metrics`); for every
 * part it measures the time from the part's close (its wall-clock end) to its
 * verified upload (closed = when its line appears in ffmpeg's segment list). At the end: the distribution of that delay, the largest
 * local footprint against "two parts plus the backlog", and a verdict
 * (every part in the bucket within 5 s of being closed; local disk never
 * above two parts plus the backlog).
 *
 * Options: --minutes 30, --segment-seconds 60, --keep (keep the data dirs).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../test/helpers/server.js';
import { fixture } from '../test/helpers/fixtures.js';
import { push } from '../test/helpers/media.js';

interface Options {
  minutes: number;
  segmentSeconds: number;
  keep: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { minutes: 30, segmentSeconds: 60, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--minutes') o.minutes = Number(next());
    else if (a === '--segment-seconds') o.segmentSeconds = Number(next());
    else if (a === '--keep') o.keep = true;
    else throw new Error(`unknown option ${a} (--minutes N, --segment-seconds N, --keep)`);
  }
  if (!(o.minutes > 0 && o.segmentSeconds >= 5)) throw new Error('--minutes must be positive, --segment-seconds at least 5');
  return o;
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
      if (buf.length > 65536) buf = buf.slice(-1024);
    });
    proc.on('exit', (code) => reject(new Error(`s3rver exited (${code})`)));
  });
  return { proc, port };
}

/** Bytes of recorded media under a folder whose names match `re` (default: MP4 parts and live parts). */
function mediaBytes(dir: string, re = /\.(mp4|fmp4)(\.tmp)?$/): number {
  let n = 0;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e);
    try {
      const st = statSync(p);
      if (st.isDirectory()) n += mediaBytes(p, re);
      else if (re.test(e)) n += st.size;
    } catch {
      // removed while walking (uploaded, or finalized): not on disk any more
    }
  }
  return n;
}

function fileSize(p: string): number {
  try {
    return statSync(p).size;
  } catch {
    return 0;
  }
}

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

function quantile(sorted: number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const bucket = 'soak-parts';
  const s3Dir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-soak-parts-s3-'));
  const s3 = await startS3(s3Dir, bucket);
  for (const k of Object.keys(process.env)) if (k.startsWith('BUCKETCAST_')) delete process.env[k];
  const server = await startServer({
    env: { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    config: {
      api: { metrics: { public: true } },
      applications: [{ name: 'live', recordSegmentSeconds: o.segmentSeconds, s3: { bucket, endpoint: `http://127.0.0.1:${s3.port}`, region: 'us-east-1', forcePathStyle: true } }],
    },
  });
  const src = await fixture({ seconds: 60, width: 1280, height: 720, videoKbps: 3000 });
  console.log(`soak:parts: ${o.minutes} min of one 720p stream, recordSegmentSeconds ${o.segmentSeconds}, uploads to s3rver on 127.0.0.1:${s3.port}; data ${server.dataDir}`);
  const p = push(server.rtmpUrl('live', 'cam'), src, { loop: true, seconds: o.minutes * 60 });
  let worst = { local: 0, backlog: 0, over: -Infinity };
  let hlsMax = 0;
  const sampler = setInterval(() => {
    void (async () => {
      const local = mediaBytes(path.join(server.dataDir, '.work')) + mediaBytes(path.join(server.dataDir, 'live', 'streams'));
      const text = await (await fetch(`${server.httpUrl}/metrics`)).text();
      const backlog = metric(text, 'bucketcast_upload_bytes_pending');
      hlsMax = Math.max(hlsMax, mediaBytes(path.join(server.dataDir, 'live', 'streams'), /\.ts$/));
      const parts = server.logs.filter((l) => l.msg === 'recording part completed').map((l) => Number(l.sizeBytes));
      const partSize = parts.length ? Math.max(...parts) : Infinity;
      // Closed parts not yet handed to the upload queue are upload backlog too (the gauge counts from the queue
      // on): while a part is remuxed its live file is that backlog, and its remuxed copy is one of the two parts.
      const queued = new Set(server.logs.filter((l) => l.msg === 'recording part queued for upload').map((l) => String(l.file)));
      let closing = 0;
      for (const [file, live] of liveFileOf) if (!queued.has(file)) closing += fileSize(live);
      const over = local - (2 * partSize + backlog + closing);
      if (over > worst.over) worst = { local, backlog: backlog + closing, over };
    })().catch(() => undefined);
  }, 1000);
  // When ffmpeg closed each part: the moment its line appears in the segment list (polled every 200 ms).
  const closedAt = new Map<string, number>();
  const liveFileOf = new Map<string, string>();
  const lister = setInterval(() => {
    const work = path.join(server.dataDir, '.work');
    let dirs: string[] = [];
    try {
      dirs = readdirSync(work);
    } catch {
      return;
    }
    for (const d of dirs) {
      let text = '';
      try {
        text = readFileSync(path.join(work, d, 'parts.csv'), 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n')) {
        const part = line.split(',')[0]?.replace(/\.fmp4$/, '.mp4');
        if (part && line.split(',').length >= 3 && !closedAt.has(part)) {
          closedAt.set(part, Date.now());
          liveFileOf.set(part, path.join(work, d, line.split(',')[0]));
        }
      }
    }
  }, 200);
  const minuteTimer = setInterval(() => {
    const n = server.logs.filter((l) => l.msg === 'recording part completed').length;
    console.log(`  ${Math.round(p.elapsed() / 60)} min: ${n} parts closed, local media ${(mediaBytes(server.dataDir) / 1048576).toFixed(1)} MiB`);
  }, 60_000);
  await p.done;
  clearInterval(minuteTimer);
  clearInterval(lister);
  await server.waitForLog((l) => l.msg === 'recording uploaded', 180_000, 'recording uploaded');
  clearInterval(sampler);

  const closed = server.logs.filter((l) => l.msg === 'recording part completed');
  const uploadedAt = new Map(server.logs.filter((l) => l.msg === 'upload completed').map((l) => [String(l.file), Date.parse(String(l.time))]));
  const finalizedIn = closed.map((l) => (Date.parse(String(l.time)) - (closedAt.get(String(l.file)) ?? NaN)) / 1000).filter(Number.isFinite).sort((a, b) => a - b);
  console.log(`close → finalized (remuxed, probed, announced), s: p50 ${quantile(finalizedIn, 0.5).toFixed(2)}, max ${finalizedIn.at(-1)?.toFixed(2)}`);
  const delays = closed
    .map((l) => (uploadedAt.get(String(l.file)) ?? NaN) - (closedAt.get(String(l.file)) ?? NaN))
    .filter((d) => Number.isFinite(d))
    .map((d) => d / 1000)
    .sort((a, b) => a - b);
  const partSize = Math.max(...closed.map((l) => Number(l.sizeBytes)));
  console.log(`parts closed while live: ${closed.length} (each about ${(partSize / 1048576).toFixed(1)} MiB)`);
  console.log(`close → verified in the bucket, s: min ${delays[0]?.toFixed(2)}, p50 ${quantile(delays, 0.5).toFixed(2)}, p90 ${quantile(delays, 0.9).toFixed(2)}, p99 ${quantile(delays, 0.99).toFixed(2)}, max ${delays.at(-1)?.toFixed(2)}`);
  // Where the time went, per stage (from the server's own log lines; the close is the lister's, 200 ms steps).
  const timeOf = (msg: string) => {
    const out = new Map<string, number>();
    for (const l of server.logs) if (l.msg === msg && !out.has(String(l.file))) out.set(String(l.file), Date.parse(String(l.time)));
    return out;
  };
  const finalized = timeOf('recording part completed');
  const queued = timeOf('recording part queued for upload');
  const uploadStarted = timeOf('upload started');
  const stage = (label: string, from: Map<string, number>, to: Map<string, number>) => {
    const d = closed.map((l) => ((to.get(String(l.file)) ?? NaN) - (from.get(String(l.file)) ?? NaN)) / 1000).filter(Number.isFinite).sort((a, b) => a - b);
    console.log(`  ${label}, s: p50 ${quantile(d, 0.5).toFixed(2)}, p90 ${quantile(d, 0.9).toFixed(2)}, max ${d.at(-1)?.toFixed(2)}`);
  };
  console.log('stages:');
  stage('close → finalized', closedAt, finalized);
  stage('finalized → queued', finalized, queued);
  stage('queued → upload started', queued, uploadStarted);
  stage('upload started → verified', uploadStarted, uploadedAt);
  for (const k of ['waitMs', 'remuxMs', 'fsyncMs', 'probeMs', 'recordMs']) {
    const d = closed.map((l) => Number(l[k])).filter(Number.isFinite).sort((a, b) => a - b);
    if (d.length) console.log(`  finalize ${k}: p50 ${quantile(d, 0.5)}, p90 ${quantile(d, 0.9)}, max ${d.at(-1)}`);
  }
  console.log(`local media at its largest beyond two parts + backlog: ${(worst.over / 1048576).toFixed(1)} MiB (local ${(worst.local / 1048576).toFixed(1)} MiB, backlog ${(worst.backlog / 1048576).toFixed(1)} MiB)`);
  console.log(`HLS segments on local disk at most: ${(hlsMax / 1048576).toFixed(1)} MiB (hlsWindowSeconds: the last 600 s by default)`);
  const inTime = delays.length === closed.length && (delays.at(-1) ?? Infinity) <= 5;
  const bounded = worst.over <= 0;
  console.log(`verdict: parts ${inTime ? 'all in the bucket within 5 s' : 'NOT all within 5 s'}, local disk ${bounded ? 'within two parts + backlog' : 'ABOVE two parts + backlog'}`);

  await server.stop();
  s3.proc.kill('SIGTERM');
  if (!o.keep) {
    server.cleanup();
    rmSync(s3Dir, { recursive: true, force: true });
  }
  process.exitCode = inTime && bounded ? 0 : 1;
}

main().catch((err) => {
  console.error(`soak:parts failed: ${(err as Error).message}`);
  process.exit(2);
});
