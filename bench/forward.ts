/**
 * `npm run bench:forward`: requests/s and p99 latency of HTTP forwarding in
 * redirect mode (the real server process, express and all) beside a bare node
 * `http` server answering the same 302s, measured in one run with the same
 * load generator.
 *
 * Load generator: `wrk` when installed (Debian: `apt-get install -y wrk`),
 * otherwise a node keep-alive generator in its own process (bench/http-load.ts).
 * Knobs: BENCH_SECONDS (10), BENCH_CONNECTIONS (50), BENCH_LOADGEN (wrk|node).
 */
import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { startServer, ROOT } from '../test/helpers/server.js';

const SECONDS = Number(process.env.BENCH_SECONDS || 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 50);
const BASE = 'https://bench-bucket.s3.us-east-1.amazonaws.com';
const FILE = '/live/streams/cam1_20261122T185003Z.mp4?token=abc';
const hasWrk = spawnSync('wrk', ['--version']).error === undefined;
const loadgen = process.env.BENCH_LOADGEN || (hasWrk ? 'wrk' : 'node');

interface Result {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
}

/** Runs the load generator against `url` for `seconds`. */
function load(url: string, seconds: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    const args =
      loadgen === 'wrk'
        ? ['wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', url]]
        : [process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/http-load.ts'), url, String(CONNECTIONS), String(seconds)]];
    const child = spawn(args[0] as string, args[1] as string[], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(loadgen === 'wrk' ? parseWrk(out) : (JSON.parse(out) as Result)) : reject(new Error(`load generator exited ${code}: ${out}`))));
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

async function main(): Promise<void> {
  if (loadgen === 'wrk' && !hasWrk) throw new Error('wrk is not installed: apt-get install -y wrk (or BENCH_LOADGEN=node)');
  const server = await startServer({ config: { applications: [{ name: 'live', httpForwardingBaseURL: BASE }] }, env: { BUCKETCAST_LOG_LEVEL: 'info' } }); // info: the helper waits for "bucketcast ready"; nothing is logged per request
  const bare = await startBare();
  try {
    const targets = [
      { name: 'bare node http (302)', url: `${bare.url}${FILE}` },
      { name: 'bucketcast redirect mode', url: `${server.httpUrl}${FILE}` },
    ];
    const locations = await Promise.all(targets.map((t) => sameAnswer(t.url)));
    if (locations[0] !== locations[1]) throw new Error(`answers differ: ${locations.join(' vs ')}`);
    process.stdout.write(`bench:forward  ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, ` +
      `load generator ${loadgen}${loadgen === 'node' ? ' (install wrk for a faster one: apt-get install -y wrk)' : ''}, ${CONNECTIONS} keep-alive connections, ${SECONDS} s each after 2 s warm-up\n`);
    process.stdout.write(`both answer 302 Location: ${locations[0]}\n\n`);
    const results: Array<{ name: string; r: Result }> = [];
    for (const t of targets) {
      await load(t.url, 2); // warm-up: JIT, connection pools
      results.push({ name: t.name, r: await load(t.url, SECONDS) });
    }
    const rows = results.map(({ name, r }) => [name, r.rps.toFixed(0), r.p50.toFixed(2), r.p99.toFixed(2), String(r.requests), String(r.errors)]);
    const head = ['server', 'requests/s', 'p50 ms', 'p99 ms', 'requests', 'errors'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
    process.stdout.write(`${[line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n')}\n\n`);
    const [b, f] = results.map((x) => x.r);
    process.stdout.write(`bucketcast redirect mode: ${((f.rps / b.rps) * 100).toFixed(0)}% of the bare server's requests/s, p99 ${(f.p99 - b.p99).toFixed(2)} ms higher\n`);
  } finally {
    bare.stop();
    await server.stop();
    server.cleanup();
  }
}

main().catch((err) => {
  process.stderr.write(`bench:forward failed: ${(err as Error).message}\n`);
  process.exit(1);
});
