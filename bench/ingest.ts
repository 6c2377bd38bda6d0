/**
 * `npm run bench:ingest`: how many live streams bucketcast records on this
 * machine, and at what cost, beside nginx with libnginx-mod-rtmp.
 *
 * For each N and each server: start the server fresh (temp dir, free port),
 * push N pre-encoded 720p 3 Mbit/s H.264/AAC streams at once with ffmpeg
 * (`-re -stream_loop -1 -c copy`, so pushers do not encode), measure the
 * server's process tree over the steady-state window, stop the pushers, and
 * compare each stream's pushed seconds with the seconds in its recording.
 *
 *   npm run bench:ingest -- [--n 1,8,32] [--seconds 60] [--warmup 10]
 *                           [--targets bucketcast,nginx,nginx-previews]
 *                           [--find-max [--steps 8,16,32,48,64,96,128]] [--json out.json] [--keep]
 *                           [--segment-seconds 10]
 */
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fixture } from '../test/helpers/fixtures.js';
import { BucketcastTarget } from './lib/bucketcast-target.js';
import { findNginx, nginxVersion, NginxTarget } from './lib/nginx-target.js';
import { killAllPushers } from './lib/pushers.js';
import { perStream, resultTable } from './lib/report.js';
import { runOnce, LOSS_TOLERANCE_S, type RunResult } from './lib/run.js';
import type { BenchTarget } from './lib/target.js';

// bucketcast-v8-defaults: bucketcast without the node flags of `npm start` (the heap sizing A/B, in the same run);
// bucketcast-flags: with the node flags in BENCH_NODE_FLAGS instead (a flag A/B in the same run).
const TARGETS = ['bucketcast', 'bucketcast-v8-defaults', 'bucketcast-flags', 'nginx', 'nginx-previews'] as const;
type TargetName = (typeof TARGETS)[number];

const USAGE = `usage: npm run bench:ingest -- [options]
  --n 1,8,32            stream counts to measure (default 1,8,32)
  --seconds 60          seconds of pushing per run (default 60; 30 with --find-max)
  --warmup 10           seconds at the start of each run left out of the CPU window (default min(10, seconds/3))
  --targets LIST        any of ${TARGETS.join(',')} (default bucketcast,nginx,nginx-previews; nginx rows need apt-get install -y nginx libnginx-mod-rtmp;
                        bucketcast-v8-defaults runs the server without npm start's node flags,
                        bucketcast-flags with BENCH_NODE_FLAGS instead of them; BENCH_SERVER_OUTPUT=FILE appends
                        the server's non-JSON output, e.g. --trace-gc lines, to FILE)
  --find-max            step N up (--steps) until a server loses a second or falls behind; report the largest lossless N
  --steps 8,16,32,...   N steps for --find-max (default 8,16,32,48,64,96,128,160,192,256)
  --json FILE           also write every result as JSON
  --nginx PATH          nginx binary (default: the one installed)
  --segment-seconds S   bucketcast's recordSegmentSeconds (default: the app default, 3600; e.g. 10 to measure with parts closing during the run)
  --keep                keep each run's temp dir (recordings, logs) and print its path`;

const list = (s: string, name: string) =>
  s.split(',').map((x) => {
    const v = Number(x.trim());
    if (!Number.isInteger(v) || v < 1) fail(`--${name}: "${x}" is not a positive integer`);
    return v;
  });

function fail(msg: string): never {
  process.stderr.write(`bench:ingest: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

const OPTIONS = {
  n: { type: 'string' },
  seconds: { type: 'string' },
  warmup: { type: 'string' },
  targets: { type: 'string' },
  'find-max': { type: 'boolean' },
  steps: { type: 'string' },
  json: { type: 'string' },
  keep: { type: 'boolean' },
  nginx: { type: 'string' },
  'segment-seconds': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parse() {
  try {
    return parseArgs({ options: OPTIONS }).values;
  } catch (err) {
    return fail((err as Error).message);
  }
}
const args = parse();
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const findMax = !!args['find-max'];
const seconds = Number(args.seconds ?? (findMax ? 30 : 60));
if (!(seconds >= 10)) fail('--seconds must be at least 10');
const warmup = Number(args.warmup ?? Math.min(10, Math.floor(seconds / 3)));
if (!(warmup >= 0 && warmup <= seconds - 5)) fail('--warmup must be between 0 and seconds − 5');
const ns = findMax ? list(args.steps ?? '8,16,32,48,64,96,128,160,192,256', 'steps') : list(args.n ?? '1,8,32', 'n');
const segmentSeconds = args['segment-seconds'] === undefined ? undefined : Number(args['segment-seconds']);
if (segmentSeconds !== undefined && !(Number.isInteger(segmentSeconds) && segmentSeconds >= 0)) fail('--segment-seconds must be a whole number of seconds (0 = one MP4 per publish)');
let targets = (args.targets ?? 'bucketcast,nginx,nginx-previews').split(',').map((t) => t.trim()) as TargetName[];
for (const t of targets) if (!TARGETS.includes(t)) fail(`--targets: unknown target "${t}" (known: ${TARGETS.join(', ')})`);

const log = (line: string) => process.stderr.write(`${line}\n`);
/** The report goes to stdout (progress to stderr), so `> file` keeps just the tables. */
const print = (line = '') => process.stdout.write(`${line}\n`);

// nginx rows: a clear message when nginx or its RTMP module is missing, never a silent gap.
const nginx = findNginx(args.nginx);
const isBucketcast = (t: TargetName) => t.startsWith('bucketcast');
if ('missing' in nginx && !targets.every(isBucketcast)) {
  const msg = `nginx rows skipped: ${nginx.missing}. Install with: apt-get install -y nginx libnginx-mod-rtmp`;
  targets = targets.filter(isBucketcast);
  if (targets.length === 0) {
    process.stderr.write(`bench:ingest: ${msg}\n`);
    process.exit(1);
  }
  log(`WARNING: ${msg}`);
  print(`> **${msg}**`);
}

const active = new Set<BenchTarget>();
const interrupt = (signal: NodeJS.Signals) => {
  log(`\n${signal}: stopping pushers and servers`);
  killAllPushers();
  for (const t of active) t.abort();
  process.exit(130);
};
process.on('SIGINT', interrupt);
process.on('SIGTERM', interrupt);

async function startTarget(name: TargetName): Promise<BenchTarget> {
  if (name === 'bucketcast') return BucketcastTarget.start({ recordSegmentSeconds: segmentSeconds });
  if (name === 'bucketcast-v8-defaults') return BucketcastTarget.start({ recordSegmentSeconds: segmentSeconds, nodeFlags: [] });
  if (name === 'bucketcast-flags') return BucketcastTarget.start({ recordSegmentSeconds: segmentSeconds, nodeFlags: (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean) });
  if ('missing' in nginx) throw new Error(nginx.missing);
  return NginxTarget.start({ ...nginx, previews: name === 'nginx-previews' });
}

async function measure(name: TargetName, n: number, file: string): Promise<RunResult> {
  log(`${name}, N=${n}: starting the server`);
  const target = await startTarget(name);
  active.add(target);
  try {
    const r = await runOnce(target, { n, seconds, warmup, fixture: file, progress: log });
    log(`  CPU ${r.serverCpu.toFixed(1)} %, ${r.losing} losing, ${r.behind} behind`);
    return r;
  } finally {
    await target.dispose(!!args.keep);
    active.delete(target);
  }
}

function describeFixture(file: string): string {
  const j = JSON.parse(
    execFileSync('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file], { encoding: 'utf8' }),
  ) as { format: { duration: string; bit_rate: string }; streams: Array<{ codec_type: string; codec_name: string; width?: number; height?: number; avg_frame_rate?: string }> };
  const v = j.streams.find((s) => s.codec_type === 'video');
  const a = j.streams.find((s) => s.codec_type === 'audio');
  const [num, den] = (v?.avg_frame_rate ?? '0/1').split('/').map(Number);
  return `${v?.width}x${v?.height} ${Math.round(num / den)} fps ${v?.codec_name} + ${a?.codec_name}, ${(Number(j.format.bit_rate) / 1e6).toFixed(2)} Mbit/s, ${Number(j.format.duration).toFixed(0)} s file looped`;
}

/** Resolves false when a run could not be carried out at all. */
async function main(): Promise<boolean> {
  const file = await fixture({ seconds: 20, width: 1280, height: 720, fps: 30, videoKbps: 3000 });
  const cmd = `npm run bench:ingest${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const ffmpegVersion = execFileSync('ffmpeg', ['-version'], { encoding: 'utf8' }).split('\n')[0].split(' Copyright')[0];
  print('## Ingest benchmark');
  print();
  print(`- command: \`${cmd}\``);
  print(`- date: ${new Date().toISOString()}; machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; load average at start ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  print(`- media: ${describeFixture(file)}; pushed with \`ffmpeg -re -stream_loop -1 -i <file> -c copy -f flv rtmp://…\``);
  print(`- ${ffmpegVersion}${'missing' in nginx ? '' : `; ${nginxVersion(nginx.nginx)} with ${nginx.module}`}; node ${process.version}`);
  print(`- each run: ${seconds} s of pushing once all N pushers send; the first ${warmup} s are left out of the CPU/memory window`);
  print();

  const results: Array<RunResult & { name: TargetName }> = [];
  const largest = new Map<TargetName, number>();
  const stillOk = new Set(targets);
  const failures: string[] = [];
  for (const n of ns) {
    for (const name of targets) {
      if (findMax && !stillOk.has(name)) continue;
      let r: RunResult;
      try {
        r = await measure(name, n, file);
      } catch (err) {
        // A server that cannot even start or be measured at this N fails the step; the others go on.
        const msg = `${name}, N=${n}: run failed: ${(err as Error).message.split('\n')[0]}`;
        log(msg);
        failures.push(msg);
        stillOk.delete(name);
        continue;
      }
      results.push({ ...r, name });
      if (r.ok) largest.set(name, Math.max(n, largest.get(name) ?? 0));
      else stillOk.delete(name);
    }
    if (findMax && stillOk.size === 0) break;
  }

  print(resultTable(results));
  print();
  for (const f of failures) print(`- **${f}**`);
  if (failures.length) print();
  print('Per stream, seconds pushed → recorded ((!) = lost more than 1 s or fell behind):');
  print();
  print(perStream(results));
  print();
  const maxLine = targets
    .map((t) => {
      const n = largest.get(t);
      const tested = results.filter((r) => r.name === t).map((r) => r.n);
      const capped = findMax && stillOk.has(t) ? ' (every step passed; try larger --steps)' : '';
      return `${t}: ${n ?? `none of ${tested.join(', ')}`}${capped}`;
    })
    .join('; ');
  print(`Largest lossless N ${findMax ? 'found' : 'among those run'} (no stream recorded less than pushed − ${LOSS_TOLERANCE_S} s, no pusher behind real time): ${maxLine}`);
  print();
  print('CPU: utime+stime of the server process tree (children included) over the window, % of one core (200 % = both cores).');
  print('Pushers are separate ffmpeg processes on the same machine, counted in neither server. "other load" is everything else');
  print('that ran (other users of a shared machine, this bench): high values mean the figures are noisy.');
  if (args.json) writeFileSync(args.json, JSON.stringify({ command: cmd, seconds, warmup, results, failures }, null, 2));
  return failures.length === 0;
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (err) => {
    log(`bench:ingest failed: ${(err as Error).stack ?? err}`);
    killAllPushers();
    for (const t of active) t.abort();
    process.exit(1);
  },
);
