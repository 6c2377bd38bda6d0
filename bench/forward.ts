/**
 * `npm run bench:forward`, in one run with the same load generator:
 * - redirect mode (the real server process) beside a bare node `http` server
 *   answering the same 302s: requests/s at full load, and p99 latency at a
 *   fixed 1,000 requests/s (BENCH_RATE);
 * - proxy mode (base URL: an s3rver bucket on loopback) beside the same GET
 *   straight from the bucket, for one object of BENCH_OBJECT_KIB (256) KiB.
 * Ratios are against the peer measured in the same run (the machine is shared):
 * each comparison runs in BENCH_ROUNDS (3) rounds that alternate the two
 * targets, so a burst of load elsewhere hits both alike; the table shows each
 * target's median round, the ratio is the median of the per-round ratios.
 *
 * Load generator: `wrk` when installed (Debian: `apt-get install -y wrk`),
 * otherwise a node keep-alive generator in its own process (bench/http-load.ts),
 * which also runs the fixed-rate part (wrk cannot hold a rate).
 * Knobs: BENCH_SECONDS (10), BENCH_CONNECTIONS (50), BENCH_LOADGEN (wrk|node),
 * BENCH_RATE (1000), BENCH_PACED_ROUNDS (10: the p99 of one 3 s round swings with the machine's noise, so the
 * fixed-rate part takes the median p99 over more rounds), BENCH_OBJECT_KIB (256), BENCH_PARTS (redirect,paced,proxy: which parts run),
 * BENCH_NODE_FLAGS (extra node flags for bucketcast, e.g. `--trace-gc`), BENCH_SERVER_OUTPUT (a file that gets
 * bucketcast's non-JSON output, such as those traces, at the end), BENCH_SOURCES (1: bucketcast from its sources
 * through tsx instead of compiled as `npm start` runs it; every bench that starts bucketcast takes it),
 * BENCH_ORIGIN_CPU (e.g. 1: for the proxy part, the origin — s3rver, in this bench process — runs on that CPU only,
 * and bucketcast and the load generator on the others, with `taskset`: the bucket on its own machine, as deployed,
 * so the ratio shows whether bucketcast keeps up with the bucket rather than how the three share two cores).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, ROOT, SERVER_NODE_FLAGS } from '../test/helpers/server.js';
import { startBucket } from '../test/helpers/fwd-bucket.js';
import { benchServerEntry } from './lib/bucketcast-target.js';

const SECONDS = Number(process.env.BENCH_SECONDS || 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 50);
const BASE = 'https://bench-bucket.s3.us-east-1.amazonaws.com';
const FILE = '/live/streams/cam1_20261122T185003Z.mp4?token=abc';
const RATE = Number(process.env.BENCH_RATE || 1000);
const OBJECT_KIB = Number(process.env.BENCH_OBJECT_KIB || 256);
const SEGMENT = 'streams/bench_00001.ts';
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS || 3));
const PACED_ROUNDS = Math.max(1, Number(process.env.BENCH_PACED_ROUNDS || 10));
const PARTS = new Set((process.env.BENCH_PARTS || 'redirect,paced,proxy').split(','));
const hasWrk = spawnSync('wrk', ['--version']).error === undefined;
const ORIGIN_CPU = process.env.BENCH_ORIGIN_CPU;
/** The load generator's command prefix: `taskset -c <cpus>` once the proxy part pins the origin (BENCH_ORIGIN_CPU). */
let loadPrefix: string[] = [];

/** Pins every thread of `pid` to `cpus` (a taskset list such as `0` or `0,2-3`). */
function pin(pid: number, cpus: string): void {
  const r = spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)]);
  if (r.status !== 0) throw new Error(`taskset -a -p -c ${cpus} ${pid} failed: ${r.stderr?.toString().trim() || r.error?.message}`);
}

/** The CPUs other than `cpu` (BENCH_ORIGIN_CPU), as a taskset list. */
function otherCpus(cpu: number): string {
  const others = os.cpus().map((_, i) => i).filter((i) => i !== cpu);
  if (others.length === 0) throw new Error('BENCH_ORIGIN_CPU needs a machine with at least two CPUs');
  return others.join(',');
}
const loadgen = process.env.BENCH_LOADGEN || (hasWrk ? 'wrk' : 'node');

interface Result {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  /** What the errors were (wrk: non-2xx/3xx answers, socket errors by kind). */
  errorDetail?: string;
  /** CPU time of the measured server process per request, in ms (from /proc; robust to load elsewhere). */
  cpuMs?: number;
  /** Requests of the node generator's own uncounted warm-up at a fixed rate (in the CPU window). */
  warmupRequests?: number;
}

/** A measured server: its URL and, for the CPU figure, its process id. */
interface Target {
  name: string;
  url: string;
  pid?: number;
}

/** User + system CPU time of a process in ms, or undefined off Linux. */
function cpuTimeMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;

/** Runs the load generator against `url` for `seconds`: flat out, or at `rate` requests/s (node generator). */
function load(url: string, seconds: number, opts: { rate?: number; status?: number } = {}): Promise<Result> {
  const useWrk = loadgen === 'wrk' && !opts.rate;
  return new Promise((resolve, reject) => {
    const args = useWrk
      ? ['wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', url]]
      : [process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/http-load.ts'), url, String(CONNECTIONS), String(seconds), String(opts.rate ?? 0), String(opts.status ?? 302)]];
    const [cmd, argv] = loadPrefix.length ? [loadPrefix[0], [...loadPrefix.slice(1), args[0] as string, ...(args[1] as string[])]] : [args[0] as string, args[1] as string[]];
    const child = spawn(cmd, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(useWrk ? parseWrk(out) : (JSON.parse(out) as Result)) : reject(new Error(`load generator exited ${code}: ${out}`))));
  });
}

function parseWrk(out: string): Result {
  const ms = (v: string, unit: string) => Number(v) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[unit];
  const lat = (p: string) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(out);
    if (!m) throw new Error(`wrk output without ${p}%:\n${out}`);
    return ms(m[1], m[2]);
  };
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  // wrk counts 3xx as fine; only 4xx/5xx and socket errors are reported.
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (sock ? sock.slice(1).reduce((n, v) => n + Number(v), 0) : 0);
  const errorDetail = errors ? `non-2xx/3xx ${non2xx}${sock ? `, connect ${sock[1]}, read ${sock[2]}, write ${sock[3]}, timeout ${sock[4]}` : ''}` : undefined;
  return { rps, p50: lat('50'), p99: lat('99'), requests, errors, errorDetail };
}

async function startBare(): Promise<{ url: string; pid?: number; stop(): void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/bare-redirect.ts'), BASE], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve((JSON.parse(String(d).split('\n')[0]) as { port: number }).port));
    child.once('exit', (c) => reject(new Error(`bare server exited ${c}`)));
  });
  return { url: `http://127.0.0.1:${port}`, pid: child.pid, stop: () => child.kill('SIGTERM') };
}

async function sameAnswer(url: string): Promise<string> {
  const r = await fetch(url, { redirect: 'manual' });
  if (r.status !== 302) throw new Error(`${url} answered ${r.status}, not 302`);
  return r.headers.get('location') ?? '';
}

/** `; CPU per request: the peer's / the target's` (the speed ratio a CPU-bound server would reach), when measured. */
function cpuRatio(rows: Array<{ r: Result }>): string {
  const [a, b] = rows.map((x) => x.r.cpuMs);
  return a && b ? `; server CPU per request ${b.toFixed(3)} ms vs ${a.toFixed(3)} ms: ${(a / b).toFixed(2)}x` : '';
}

/** The table of results. */
function table(results: Array<{ name: string; r: Result }>): string {
  const rows = results.map(({ name, r }) => [name, r.rps.toFixed(0), r.p50.toFixed(2), r.p99.toFixed(2), String(r.requests), String(r.errors), r.cpuMs === undefined ? '-' : r.cpuMs.toFixed(3)]);
  const head = ['server', 'requests/s', 'p50 ms', 'p99 ms', 'requests', 'errors', 'server CPU ms/request'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  return `${[line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n')}\n`;
}

/** Warm-up (JIT, connection pools), then the measured run. */
async function measure(t: Target, opts: { rate?: number; status?: number } = {}, seconds = SECONDS): Promise<Result> {
  await load(t.url, 2, opts);
  const before = cpuTimeMs(t.pid);
  const r = await load(t.url, seconds, opts);
  const after = cpuTimeMs(t.pid);
  return { ...r, cpuMs: before === undefined || after === undefined || !r.requests ? undefined : (after - before) / (r.requests + (r.warmupRequests ?? 0)) };
}

/**
 * Peer and target measured in alternating rounds (SECONDS split between them; at a fixed rate PACED_ROUNDS of 3 s);
 * returns each one's median round (by requests/s; at a fixed rate by p99), the median per-round ratio of target
 * to peer, and each round's p99.
 */
async function compare(peer: Target, target: Target, opts: { rate?: number; status?: number } = {}): Promise<{ rows: Array<{ name: string; r: Result }>; ratio: number; ratios: number[]; p99s: [number[], number[]] }> {
  const rounds = opts.rate ? PACED_ROUNDS : ROUNDS;
  const seconds = opts.rate ? 3 : Math.max(2, Math.round(SECONDS / ROUNDS));
  const a: Result[] = [];
  const b: Result[] = [];
  for (let i = 0; i < rounds; i++) {
    a.push(await measure(peer, opts, seconds));
    b.push(await measure(target, opts, seconds));
  }
  const median = (xs: Result[]) => [...xs].sort(opts.rate ? (x, y) => x.p99 - y.p99 : (x, y) => x.rps - y.rps)[Math.floor(xs.length / 2)];
  const ratios = a.map((x, i) => b[i].rps / x.rps);
  const ratio = [...ratios].sort((x, y) => x - y)[Math.floor(ratios.length / 2)];
  const sum = (xs: Result[]) => ({ errors: xs.reduce((n, x) => n + x.errors, 0), detail: xs.map((x) => x.errorDetail).filter(Boolean).join('; ') || undefined });
  const cpu = (xs: Result[]) => {
    const v = xs.map((x) => x.cpuMs).filter((x): x is number => x !== undefined).sort((x, y) => x - y);
    return v.length ? v[Math.floor(v.length / 2)] : undefined;
  };
  return {
    rows: [
      { name: peer.name, r: { ...median(a), errors: sum(a).errors, errorDetail: sum(a).detail, cpuMs: cpu(a) } },
      { name: target.name, r: { ...median(b), errors: sum(b).errors, errorDetail: sum(b).detail, cpuMs: cpu(b) } },
    ],
    ratio,
    ratios,
    p99s: [a.map((x) => x.p99), b.map((x) => x.p99)],
  };
}

async function main(): Promise<void> {
  if (loadgen === 'wrk' && !hasWrk) throw new Error('wrk is not installed: apt-get install -y wrk (or BENCH_LOADGEN=node)');
  const bucket = await startBucket('bench');
  await bucket.put(SEGMENT, Buffer.alloc(OBJECT_KIB * 1024, 7), 'video/mp2t');
  const server = await startServer({
    ...benchServerEntry(),
    config: {
      applications: [
        { name: 'live', httpForwardingBaseURL: BASE, s3RecordingEnabled: false },
        { name: 'proxy', httpForwardingMode: 'proxy', httpForwardingBaseURL: bucket.url, s3RecordingEnabled: false },
      ],
    },
    // info: the helper waits for "bucketcast ready"; nothing is logged per request. Answers are not schema-checked (as in production).
    env: { BUCKETCAST_LOG_LEVEL: 'info', BUCKETCAST_CHECK_ANSWERS: '0' },
    nodeFlags: [...SERVER_NODE_FLAGS, ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean)],
  });
  const bare = await startBare();
  try {
    const redirects = [
      { name: 'bare node http (302)', url: `${bare.url}${FILE}`, pid: bare.pid },
      { name: 'bucketcast redirect mode', url: `${server.httpUrl}${FILE}`, pid: server.proc.pid },
    ];
    const locations = await Promise.all(redirects.map((t) => sameAnswer(t.url)));
    if (locations[0] !== locations[1]) throw new Error(`answers differ: ${locations.join(' vs ')}`);
    const direct = `${bucket.url}/${SEGMENT}`;
    const proxied = `${server.httpUrl}/proxy/${SEGMENT}`;
    const [a, b] = await Promise.all([direct, proxied].map(async (u) => Buffer.from(await (await fetch(u)).arrayBuffer())));
    if (a.length !== OBJECT_KIB * 1024 || !a.equals(b)) throw new Error(`proxy answer differs from the bucket's (${a.length} vs ${b.length} bytes)`);
    process.stdout.write(`bench:forward  ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, ` +
      `load generator ${loadgen}${loadgen === 'node' ? ' (install wrk for a faster one: apt-get install -y wrk)' : ''}, ${CONNECTIONS} keep-alive connections, ${SECONDS} s each after 2 s warm-up\n`);
    process.stdout.write(`both answer 302 Location: ${locations[0]}\n\n`);

    const rounds = `${ROUNDS} alternating rounds of ${Math.max(2, Math.round(SECONDS / ROUNDS))} s each (median round shown)`;
    const lines: string[] = [];
    const all: Array<{ name: string; r: Result }> = [];
    if (PARTS.has('redirect')) {
      const c = await compare(redirects[0], redirects[1]);
      all.push(...c.rows);
      process.stdout.write(`redirect, full load, ${rounds}\n${table(c.rows)}\n`);
      lines.push(`redirect mode: ${c.ratio.toFixed(2)}x the bare server's requests/s (target >= 0.7; rounds ${c.ratios.map((r) => r.toFixed(2)).join(', ')})${cpuRatio(c.rows)}`);
    }
    if (PARTS.has('paced')) {
      const c = await compare({ ...redirects[0], name: `${redirects[0].name} @ ${RATE}/s` }, { ...redirects[1], name: `${redirects[1].name} @ ${RATE}/s` }, { rate: RATE });
      all.push(...c.rows);
      process.stdout.write(`redirect, ${RATE} requests/s (node generator, open loop: latency counted from each request's due time, after 1 s at the rate uncounted), ${PACED_ROUNDS} alternating rounds of 3 s each (the round of median p99 shown)\n${table(c.rows)}\n`);
      const p99s = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(', ');
      lines.push(`redirect mode at ${RATE} requests/s: median p99 ${c.rows[1].r.p99.toFixed(2)} ms (target < 5; the bare server ${c.rows[0].r.p99.toFixed(2)} ms; rounds: bucketcast ${p99s(c.p99s[1])}, bare ${p99s(c.p99s[0])})${cpuRatio(c.rows)}`);
    }
    if (PARTS.has('proxy')) {
      let where = 'the origin, bucketcast and the load generator share every CPU';
      if (ORIGIN_CPU !== undefined) {
        const cpu = Number(ORIGIN_CPU);
        if (!Number.isInteger(cpu) || cpu < 0 || cpu >= os.cpus().length) throw new Error(`BENCH_ORIGIN_CPU must be a CPU number below ${os.cpus().length}`);
        const others = otherCpus(cpu);
        pin(process.pid, String(cpu));
        pin(server.proc.pid!, others);
        loadPrefix = ['taskset', '-c', others];
        where = `the origin (s3rver, in the bench process) on CPU ${cpu}; bucketcast and the load generator on CPU ${others}`;
      }
      // s3rver runs in this process: its CPU figure is this process's (idle otherwise); bucketcast's is its own only.
      process.stdout.write(`proxy part: ${where}\n`);
      const c = await compare({ name: `s3rver GET, ${OBJECT_KIB} KiB`, url: direct, pid: process.pid }, { name: `bucketcast proxy mode, ${OBJECT_KIB} KiB`, url: proxied, pid: server.proc.pid }, { status: 200 });
      all.push(...c.rows);
      process.stdout.write(`proxy, full load, ${rounds}\n${table(c.rows)}\n`);
      lines.push(`proxy mode: ${c.ratio.toFixed(2)}x the direct GET from the bucket (target >= 0.8; rounds ${c.ratios.map((r) => r.toFixed(2)).join(', ')}; ${where})`);
    }
    process.stdout.write(`${lines.join('\n')}\nload average at the end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
    for (const x of all) if (x.r.errors) process.stdout.write(`WARNING: ${x.name}: ${x.r.errors} requests failed or got an unexpected status (${x.r.errorDetail ?? 'node generator'})\n`);
  } finally {
    bare.stop();
    await server.stop();
    if (process.env.BENCH_SERVER_OUTPUT) writeFileSync(process.env.BENCH_SERVER_OUTPUT, server.otherOutput.join('\n'));
    server.cleanup();
    await bucket.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`bench:forward failed: ${(err as Error).message}\n`);
  process.exit(1);
});
