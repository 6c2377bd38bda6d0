/**
 * `npm run bench:cluster`: what several nodes on one PostgreSQL cost, beside
 * one node. Three setups, each started fresh, each recording N live 720p
 * 3 Mbit/s streams (MP4 + HLS + previews, uploads to an s3rver bucket at the
 * end, the defaults):
 *
 * - `sqlite, 1 node`: the default single node;
 * - `postgres, 1 node`: the same node on PostgreSQL (Debian's, initdb in a temp dir);
 * - `postgres, 3 nodes`: three nodes on that database, the N streams spread over them.
 *
 * Over the steady-state window (after `--warmup` seconds) it measures the CPU of
 * the nodes' process trees (node + its ffmpeg recorders) per stream, the CPU of
 * the PostgreSQL server, and the database's transactions per second per stream
 * (`pg_stat_database` xact_commit + xact_rollback: every statement the nodes send
 * outside a transaction is one; the bench's two reads are subtracted).
 *
 *   npm run bench:cluster -- [--n 3] [--seconds 20] [--warmup 8] [--json out.json]
 */
import { parseArgs } from 'node:util';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startServer, type TestServer } from '../test/helpers/server.js';
import { startPostgres, type Postgres } from '../test/helpers/postgres.js';
import { credentialEnv, s3SettingsFor, startS3Target, type S3TestTarget } from '../test/helpers/s3.js';
import { fixture } from '../test/helpers/fixtures.js';
import { allProcesses, cpuBetween, cpuSnapshot, treeOf } from './lib/proc-tree.js';
import { killAllPushers, startPusher, stopPushers } from './lib/pushers.js';
import { BUCKETCAST_APP } from './lib/bucketcast-target.js';

const USAGE = `usage: npm run bench:cluster -- [--n 3] [--seconds 20] [--warmup 8] [--json FILE]
  --n N          live streams in each setup (default 3), spread over the nodes
  --seconds S    seconds of pushing per setup (default 20)
  --warmup W     seconds left out of the measuring window at the start (default 8)
  --json FILE    also write the rows as JSON`;

function fail(msg: string): never {
  process.stderr.write(`bench:cluster: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

const OPTIONS = { n: { type: 'string' }, seconds: { type: 'string' }, warmup: { type: 'string' }, json: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;
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
const n = Number(args.n ?? 3);
const seconds = Number(args.seconds ?? 20);
const warmup = Number(args.warmup ?? 8);
if (!Number.isInteger(n) || n < 1) fail('--n must be a positive integer');
if (!(seconds >= 5)) fail('--seconds must be at least 5');
if (!(warmup >= 0 && warmup < seconds - 2)) fail('--warmup must leave at least 2 s of window');

interface Row {
  setup: string;
  nodes: number;
  streams: number;
  windowSeconds: number;
  /** CPU of every node's process tree, % of one core. */
  nodesCpuPct: number;
  cpuPctPerStream: number;
  /** CPU of the PostgreSQL server's processes, % of one core (0 on SQLite). */
  postgresCpuPct: number;
  /** Database transactions per second per stream (PostgreSQL only). */
  dbTxPerSecondPerStream: number | null;
  /** Streams whose pusher ran the whole time. */
  pushersOk: number;
}

const SECRET_KEY = randomBytes(32).toString('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The postmaster of the PostgreSQL listening on `port`, and its children. */
function postgresPids(port: number): number[] {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (path.basename(cmd[0]) === 'postgres' && cmd.join(' ').includes(`-p ${port} `)) return [Number(name)];
    } catch {
      // gone
    }
  }
  return [];
}

async function txCount(c: pg.Client): Promise<number> {
  const r = await c.query<{ n: string }>('SELECT (xact_commit + xact_rollback)::text AS n FROM pg_stat_database WHERE datname = current_database()');
  return Number(r.rows[0].n);
}

async function runSetup(setup: string, nodeCount: number, s3: S3TestTarget, postgres: Postgres | undefined, src: string): Promise<Row> {
  const url = postgres ? await postgres.createDatabase(`bench_${setup.replace(/\W+/g, '_')}_${process.pid}`) : undefined;
  const env: Record<string, string> = { ...credentialEnv(s3), BUCKETCAST_LOG_LEVEL: 'info', BUCKETCAST_SECRET_KEY: SECRET_KEY, ...(url ? { BUCKETCAST_DATABASE_URL: url } : {}) };
  const config = { applications: [{ ...BUCKETCAST_APP, s3: s3SettingsFor(s3, 'bench') }] };
  const nodes: TestServer[] = await Promise.all(Array.from({ length: nodeCount }, () => startServer({ env, config })));
  const db = url ? new pg.Client({ connectionString: url }) : undefined;
  await db?.connect();
  const pushers = Array.from({ length: n }, (_, i) => startPusher(`s${i}`, nodes[i % nodeCount].rtmpUrl('live', `s${i}`), src));
  try {
    await sleep(warmup * 1000);
    const roots = nodes.map((x) => x.proc.pid!);
    const pgRoots = postgres ? postgresPids(postgres.port) : [];
    const all0 = allProcesses();
    const cpu0 = cpuSnapshot(treeOf(roots, all0));
    const pg0 = cpuSnapshot(treeOf(pgRoots, all0));
    const tx0 = db ? await txCount(db) : 0;
    const t0 = Date.now();
    await sleep((seconds - warmup) * 1000);
    const windowSeconds = (Date.now() - t0) / 1000;
    const all1 = allProcesses();
    const nodesCpu = cpuBetween(cpu0, cpuSnapshot(treeOf(roots, all1)), windowSeconds).total;
    const pgCpu = pgRoots.length ? cpuBetween(pg0, cpuSnapshot(treeOf(pgRoots, all1)), windowSeconds).total : 0;
    const tx1 = db ? await txCount(db) : 0;
    const pushersOk = pushers.filter((p) => p.proc.exitCode === null).length;
    return {
      setup,
      nodes: nodeCount,
      streams: n,
      windowSeconds: Math.round(windowSeconds * 10) / 10,
      nodesCpuPct: round(nodesCpu),
      cpuPctPerStream: round(nodesCpu / n),
      postgresCpuPct: round(pgCpu),
      dbTxPerSecondPerStream: db ? round((tx1 - tx0 - 2) / windowSeconds / n) : null,
      pushersOk,
    };
  } finally {
    await stopPushers(pushers);
    await db?.end().catch(() => undefined);
    await Promise.all(nodes.map((x) => x.stop()));
    for (const x of nodes) x.cleanup();
  }
}

const round = (v: number) => Math.round(v * 100) / 100;

function table(rows: Row[]): string {
  const head = ['setup', 'nodes', 'streams', 'window s', 'nodes CPU %', 'CPU %/stream', 'PostgreSQL CPU %', 'DB tx/s/stream', 'pushers ok'];
  const body = rows.map((r) => [r.setup, r.nodes, r.streams, r.windowSeconds, r.nodesCpuPct, r.cpuPctPerStream, r.postgresCpuPct, r.dbTxPerSecondPerStream ?? '—', `${r.pushersOk}/${r.streams}`].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  for (const k of Object.keys(process.env)) if (k.startsWith('BUCKETCAST_')) delete process.env[k];
  const cmd = `npm run bench:cluster -- --n ${n} --seconds ${seconds} --warmup ${warmup}`;
  process.stderr.write(`bench:cluster: ${cmd} (${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? 'unknown'})\n`);
  const src = await fixture({ seconds: 20 });
  const [s3, postgres] = await Promise.all([startS3Target(), startPostgres()]);
  const rows: Row[] = [];
  try {
    await s3.createBucket('bench');
    for (const [setup, nodes, usePg] of [['sqlite, 1 node', 1, false], ['postgres, 1 node', 1, true], ['postgres, 3 nodes', 3, true]] as const) {
      process.stderr.write(`bench:cluster: ${setup}…\n`);
      rows.push(await runSetup(setup, nodes, s3, usePg ? postgres : undefined, src));
    }
  } finally {
    killAllPushers();
    await s3.cleanup();
    await postgres.stop();
  }
  process.stdout.write(`\n${cmd}\n\n${table(rows)}\n`);
  if (args.json) writeFileSync(args.json, JSON.stringify({ command: cmd, rows }, null, 2));
}

main().catch((err) => {
  killAllPushers();
  process.stderr.write(`bench:cluster failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
