/**
 * `npm run bench:upload`: upload a 1 GiB file to a loopback s3rver with
 * bucketcast's uploader (hash pass + lib-storage multipart with Content-MD5
 * per part + HEAD verification, default settings: 8 MiB parts, 4 in flight)
 * and print its throughput, peak RSS and parts, beside — in the same run, to
 * the same server — the raw read speed of the file and `aws s3 cp` (Debian
 * package `awscli`: `apt-get install -y awscli`; not installed by CI, as
 * benchmarks do not run there).
 *
 *   npm run bench:upload -- [--size-mib 1024] [--runs 1] [--queue-size 4,10] [--part-size-mib 8] [--aws /usr/bin/aws] [--keep]
 *
 * `--queue-size` takes a list: one bucketcast row per value (4 is the default
 * setting; awscli sends 10 parts at once).
 *
 * s3rver runs in its own process; its disk writes and the final concatenation
 * of parts are part of every row's time, so rows compare clients, not servers.
 */
import { parseArgs } from 'node:util';
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync, closeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { appSettings } from '../src/config/schema.js';
import { TargetResolver } from '../src/storage/targets.js';
import { UploadTracker } from '../src/storage/s3-client.js';
import { uploadObject } from '../src/storage/object-uploader.js';
import { MiB, hashFile } from '../src/storage/integrity.js';

// The AWS SDK's notice about Node versions is not part of the table.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUCKET = 'bench';
const { values: args } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    runs: { type: 'string', default: '1' },
    'queue-size': { type: 'string', default: '4,10' },
    'part-size-mib': { type: 'string', default: '8' },
    aws: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const sizeMiB = Number(args['size-mib']);
const runs = Number(args.runs);
const queueSizes = args['queue-size']!.split(',').map(Number);
const partSizeMiB = Number(args['part-size-mib']);

interface Row {
  what: string;
  seconds: number;
  peakRssMiB?: number;
  parts?: string;
  note?: string;
}

/** A file of random bytes (incompressible), made once and reused. */
function benchFile(dir: string): string {
  const file = path.join(dir, `random-${sizeMiB}MiB.bin`);
  if (existsSync(file) && statSync(file).size === sizeMiB * MiB) return file;
  const fd = openSync(file, 'w');
  for (let i = 0; i < sizeMiB; i += 16) writeSync(fd, randomBytes(Math.min(16, sizeMiB - i) * MiB));
  closeSync(fd);
  return file;
}

async function rawRead(file: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  let n = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: MiB })) n += (chunk as Buffer).length;
  if (n !== sizeMiB * MiB) throw new Error('short read');
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Peak RSS of this process while `run` runs, sampled every 20 ms. */
async function withPeakRss<T>(run: () => Promise<T>): Promise<{ result: T; peak: number; base: number }> {
  const base = process.memoryUsage.rss();
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  try {
    const result = await run();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { result, peak, base };
  } finally {
    clearInterval(timer);
  }
}

/** Peak resident set (VmHWM) of a child, read from /proc while it runs. */
function watchPeak(child: ChildProcess): () => number {
  let peak = 0;
  const timer = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) * 1024);
    } catch {
      // exited
    }
  }, 20);
  child.on('exit', () => clearInterval(timer));
  return () => peak;
}

function findAws(): string | undefined {
  if (args.aws) return args.aws;
  if (existsSync('/usr/bin/aws')) return '/usr/bin/aws';
  return undefined;
}

async function main(): Promise<void> {
  const work = path.join(os.tmpdir(), 'bucketcast-bench-upload');
  mkdirSync(work, { recursive: true });
  process.stderr.write(`preparing a ${sizeMiB} MiB file in ${work} …\n`);
  const file = benchFile(work);
  const s3dir = path.join(work, 's3rver');
  rmSync(s3dir, { recursive: true, force: true });
  mkdirSync(s3dir);
  const s3 = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/upload-s3rver.ts'), s3dir, BUCKET], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const partsByKey = new Map<string, number>();
  const port = await new Promise<number>((resolve, reject) => {
    const rl = createInterface({ input: s3.stdout! });
    rl.on('line', (line) => {
      const j = JSON.parse(line) as { port?: number; part?: number; key?: string };
      if (j.port) resolve(j.port);
      if (j.key) partsByKey.set(j.key, (partsByKey.get(j.key) ?? 0) + 1);
    });
    s3.on('exit', () => reject(new Error('s3rver exited')));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const env = { ...process.env, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_EC2_METADATA_DISABLED: 'true', AWS_DEFAULT_REGION: 'us-east-1' };
  Object.assign(process.env, env);
  const rows: Row[] = [];
  try {
    for (let r = 0; r < runs; r++) {
      const readS = await rawRead(file);
      rows.push({ what: 'raw read of the file (page cache warm)', seconds: readS });
      const hashT0 = process.hrtime.bigint();
      await hashFile(file, partSizeMiB * MiB);
      rows.push({ what: 'bucketcast hash pass alone (SHA-256 + MD5 per part)', seconds: Number(process.hrtime.bigint() - hashT0) / 1e9 });

      for (const queueSize of queueSizes) {
        const app = appSettings.parse({ name: 'bench', s3: { bucket: BUCKET, endpoint, forcePathStyle: true, queueSize, partSizeMiB } });
        const resolver = new TargetResolver({ embedded: { ensure: () => Promise.reject(new Error('unused')) }, tracker: new UploadTracker() });
        const target = await resolver.resolve(app);
        const key = `bucketcast-${r}-q${queueSize}.bin`;
        const t0 = process.hrtime.bigint();
        const { result, peak, base } = await withPeakRss(() => uploadObject({ target, key, contentType: 'application/octet-stream', source: { path: file }, tracker: new UploadTracker() }));
        const s = Number(process.hrtime.bigint() - t0) / 1e9;
        resolver.close();
        rows.push({
          what: `bucketcast (hash + multipart + HEAD), queueSize ${queueSize}${queueSize === 4 ? ' (default)' : ''}`,
          seconds: s,
          peakRssMiB: peak / MiB,
          parts: `${partsByKey.get(key) ?? result.parts} × ${result.partSize / MiB} MiB, ${queueSize} at once`,
          note: `RSS before ${(base / MiB).toFixed(0)} MiB; verified by ${result.verifiedBy}`,
        });
      }

      const aws = findAws();
      if (!aws) {
        rows.push({ what: 'aws s3 cp', seconds: NaN, note: 'not installed: apt-get install -y awscli' });
        continue;
      }
      const awsKey = `awscli-${r}.bin`;
      const t1 = process.hrtime.bigint();
      const child = spawn(aws, ['s3', 'cp', '--only-show-errors', '--endpoint-url', endpoint, file, `s3://${BUCKET}/${awsKey}`], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      const peakOf = watchPeak(child);
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      const awsS = Number(process.hrtime.bigint() - t1) / 1e9;
      if (code !== 0) throw new Error(`aws s3 cp failed (${code}): ${stderr}`);
      const version = await new Promise<string>((resolve) => {
        const v = spawn(aws, ['--version']);
        let out = '';
        v.stdout.on('data', (d) => (out += d));
        v.on('exit', () => resolve(out.trim().split(' ')[0]));
      });
      rows.push({ what: `aws s3 cp (${version})`, seconds: awsS, peakRssMiB: peakOf() / MiB, parts: `${partsByKey.get(awsKey) ?? '?'} (its default: 8 MiB, 10 at once)` });
    }
  } finally {
    s3.kill('SIGTERM');
    if (!args.keep) rmSync(s3dir, { recursive: true, force: true });
  }

  const fmt = (n: number | undefined, d = 1) => (n === undefined || Number.isNaN(n) ? '—' : n.toFixed(d));
  const lines = [
    `upload of ${sizeMiB} MiB of random bytes to s3rver on 127.0.0.1 (${os.cpus().length} cores, ${os.cpus()[0].model}, node ${process.version})`,
    '',
    '| what | seconds | MiB/s | peak RSS (MiB) | parts | note |',
    '|---|---:|---:|---:|---|---|',
    ...rows.map((r) => `| ${r.what} | ${fmt(r.seconds, 2)} | ${fmt(sizeMiB / r.seconds)} | ${fmt(r.peakRssMiB, 0)} | ${r.parts ?? ''} | ${r.note ?? ''} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
