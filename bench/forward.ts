/**
 * `npm run bench:forward`, in one run with the same load generator:
 * - redirect mode (the real server process) beside a bare node `http` server
 *   answering the same 302s: requests/s at full load, and p99 latency at a
 *   fixed 1,000 requests/s (BENCH_RATE);
 * - proxy mode (base URL: an s3rver bucket on loopback) beside the same GET
 *   straight from the bucket, for one object of BENCH_OBJECT_KIB (256) KiB.
 * Ratios are against the peer measured in the same run (the machine is shared).
 *
 * Load generator: `wrk` when installed (Debian: `apt-get install -y wrk`),
 * otherwise a node keep-alive generator in its own process (bench/http-load.ts),
 * which also runs the fixed-rate part (wrk cannot hold a rate).
 * Knobs: BENCH_SECONDS (10), BENCH_CONNECTIONS (50), BENCH_LOADGEN (wrk|node),
 * BENCH_RATE (1000), BENCH_OBJECT_KIB (256), BENCH_PARTS (redirect,paced,proxy: which parts run).
 */
import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { startServer, ROOT } from '../test/helpers/server.js';
import { startBucket } from '../test/helpers/fwd-bucket.js';

const SECONDS = Number(process.env.BENCH_SECONDS || 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 50);
const BASE = 'https://bench-bucket.s3.us-east-1.amazonaws.com';
const FILE = '/live/streams/cam1_20261122T185003Z.mp4?token=abc';
const RATE = Number(process.env.BENCH_RATE || 1000);
const OBJECT_KIB = Number(process.env.BENCH_OBJECT_KIB || 256);
const SEGMENT = 'streams/bench_00001.ts';
const PARTS = new Set((process.env.BENCH_PARTS || 'redirect,paced,proxy').split(','));
const hasWrk = spawnSync('wrk', ['--version']).error === undefined;
const loadgen = process.env.BENCH_LOADGEN || (hasWrk ? 'wrk' : 'node');

interface Result {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
}

/** Runs the load generator against `url` for `seconds`: flat out, or at `rate` requests/s (node generator). */
function load(url: string, seconds: number, opts: { rate?: number; status?: number } = {}): Promise<Result> {
  const useWrk = loadgen === 'wrk' && !opts.rate;
  return new Promise((resolve, reject) => {
    const args = useWrk
      ? ['wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', url]]
      : [process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/http-load.ts'), url, String(CONNECTIONS), String(seconds), String(opts.rate ?? 0), String(opts.status ?? 302)]];
    const child = spawn(args[0] as string, args[1] as string[], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
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
  return { rps, p50: lat('50'), p99: lat('99'), requests, errors };
}

async function startBare(): Promise<{ url: string; stop(): void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/bare-redirect.ts'), BASE], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve((JSON.parse(String(d).split('\n')[0]) as { port: number }).port));
    child.once('exit', (c) => reject(new Error(`bare server exited ${c}`)));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

async function sameAnswer(url: string): Promise<string> {
  const r = await fetch(url, { redirect: 'manual' });
  if (r.status !== 302) throw new Error(`${url} answered ${r.status}, not 302`);
  return r.headers.get('location') ?? '';
}

/** The table of results. */
function table(results: Array<{ name: string; r: Result }>): string {
  const rows = results.map(({ name, r }) => [name, r.rps.toFixed(0), r.p50.toFixed(2), r.p99.toFixed(2), String(r.requests), String(r.errors)]);
  const head = ['server', 'requests/s', 'p50 ms', 'p99 ms', 'requests', 'errors'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  return `${[line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n')}\n`;
}

/** Warm-up (JIT, connection pools), then the measured run. */
async function measure(url: string, opts: { rate?: number; status?: number } = {}): Promise<Result> {
  await load(url, 2, opts);
  return load(url, SECONDS, opts);
}

async function main(): Promise<void> {
  if (loadgen === 'wrk' && !hasWrk) throw new Error('wrk is not installed: apt-get install -y wrk (or BENCH_LOADGEN=node)');
  const bucket = await startBucket('bench');
  await bucket.put(SEGMENT, Buffer.alloc(OBJECT_KIB * 1024, 7), 'video/mp2t');
  const server = await startServer({
    config: {
      applications: [
        { name: 'live', httpForwardingBaseURL: BASE, s3RecordingEnabled: false },
        { name: 'proxy', httpForwardingMode: 'proxy', httpForwardingBaseURL: bucket.url, s3RecordingEnabled: false },
      ],
    },
    env: { BUCKETCAST_LOG_LEVEL: 'info' }, // info: the helper waits for "bucketcast ready"; nothing is logged per request
  });
  const bare = await startBare();
  try {
    const redirects = [
      { name: 'bare node http (302)', url: `${bare.url}${FILE}` },
      { name: 'bucketcast redirect mode', url: `${server.httpUrl}${FILE}` },
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

    const full: Array<{ name: string; r: Result }> = [];
    const paced: Array<{ name: string; r: Result }> = [];
    const proxy: Array<{ name: string; r: Result }> = [];
    if (PARTS.has('redirect')) {
      for (const t of redirects) full.push({ name: t.name, r: await measure(t.url) });
      process.stdout.write(`redirect, full load\n${table(full)}\n`);
    }
    if (PARTS.has('paced')) {
      for (const t of redirects) paced.push({ name: `${t.name} @ ${RATE}/s`, r: await measure(t.url, { rate: RATE }) });
      process.stdout.write(`redirect, ${RATE} requests/s (node generator, open loop: latency counted from each request's due time)\n${table(paced)}\n`);
    }
    if (PARTS.has('proxy')) {
      proxy.push({ name: `s3rver GET, ${OBJECT_KIB} KiB`, r: await measure(direct, { status: 200 }) });
      proxy.push({ name: `bucketcast proxy mode, ${OBJECT_KIB} KiB`, r: await measure(proxied, { status: 200 }) });
      process.stdout.write(`proxy, full load\n${table(proxy)}\n`);
    }
    if (full.length) process.stdout.write(`redirect mode: ${(full[1].r.rps / full[0].r.rps).toFixed(2)}x the bare server's requests/s (target >= 0.7)\n`);
    if (paced.length) process.stdout.write(`redirect mode at ${RATE} requests/s: p99 ${paced[1].r.p99.toFixed(2)} ms (target < 5; the bare server ${paced[0].r.p99.toFixed(2)} ms)\n`);
    if (proxy.length) process.stdout.write(`proxy mode: ${(proxy[1].r.rps / proxy[0].r.rps).toFixed(2)}x the direct GET from the bucket (target >= 0.8)\n`);
    const errors = [...full, ...paced, ...proxy].reduce((n, x) => n + x.r.errors, 0);
    if (errors) process.stdout.write(`WARNING: ${errors} requests failed or got an unexpected status\n`);
  } finally {
    bare.stop();
    await server.stop();
    server.cleanup();
    await bucket.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`bench:forward failed: ${(err as Error).message}\n`);
  process.exit(1);
});
