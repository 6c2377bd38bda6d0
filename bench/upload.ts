/**
 * `npm run bench:upload`: bucketcast's uploader (one read of the file in the
 * reader thread, hashing while the parts go up, Content-MD5 per part, HEAD
 * verification; default settings: 8 MiB parts, 4 in flight) beside `aws s3
 * cp` (Debian package `awscli`; its defaults: 8 MiB parts, 10 at once) in
 * the same run, to the same server, for each file size and each server:
 * s3rver (its own process) and Ceph radosgw (test/helpers/radosgw.ts).
 * Prints MiB/s, the ratio bucketcast ÷ aws, the CPU each client spent per
 * GiB (user + system; bucketcast: this process and its reader thread, aws:
 * the child as its shell's `times` reports it), and bucketcast's peak RSS
 * above idle (this process, sampled every 10 ms; the uploader runs in it).
 * On a shared machine one pair of runs is noise: with `--runs` > 1 the two
 * clients take turns going first, and a median row follows each size.
 *
 *   npm run bench:upload -- [--sizes-mib 256,2048] [--servers s3rver,radosgw] [--queue-size 4] [--part-size-mib 8] [--runs 3] [--aws /usr/bin/aws]
 *
 * Objects are deleted after each row (radosgw keeps them in memory).
 */
import { parseArgs } from 'node:util';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CreateBucketCommand, DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { appSettings } from '../src/config/schema.js';
import { TargetResolver } from '../src/storage/targets/targets.js';
import { PartReader } from '../src/storage/targets/part-reader.js';
import { uploadObject } from '../src/storage/targets/object-uploader.js';
import { MiB } from '../src/storage/targets/integrity.js';
import { startRadosgw } from '../test/helpers/radosgw.js';

// The AWS SDK's notice about Node versions is not part of the table.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUCKET = 'bench';
const { values: args } = parseArgs({
  options: {
    'sizes-mib': { type: 'string', default: '256,2048' },
    servers: { type: 'string', default: 's3rver,radosgw' },
    'queue-size': { type: 'string', default: '4' },
    'part-size-mib': { type: 'string', default: '8' },
    runs: { type: 'string', default: '3' },
    aws: { type: 'string', default: '/usr/bin/aws' },
  },
});
const sizes = args['sizes-mib']!.split(',').map(Number);
const servers = args.servers!.split(',');
const queueSize = Number(args['queue-size']);
const partSizeMiB = Number(args['part-size-mib']);
const runs = Number(args.runs);

interface Server {
  name: string;
  endpoint: string;
  region: string;
  keys: { accessKeyId: string; secretAccessKey: string };
  stop(): Promise<void>;
}

/** A file of random bytes (incompressible), made once and reused. */
function benchFile(dir: string, sizeMiB: number): string {
  const file = path.join(dir, `random-${sizeMiB}MiB.bin`);
  if (existsSync(file) && statSync(file).size === sizeMiB * MiB) return file;
  const fd = openSync(file, 'w');
  for (let i = 0; i < sizeMiB; i += 16) writeSync(fd, randomBytes(Math.min(16, sizeMiB - i) * MiB));
  closeSync(fd);
  return file;
}

async function startS3rver(work: string): Promise<Server> {
  const dir = path.join(work, 's3rver');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/upload-s3rver.ts'), dir, BUCKET], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const j = JSON.parse(line) as { port?: number };
      if (j.port) resolve(j.port);
    });
    child.on('exit', () => reject(new Error('s3rver exited')));
  });
  return {
    name: 's3rver',
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    keys: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startRgw(): Promise<Server> {
  const rgw = await startRadosgw({ memstoreBytes: 16 * 1024 * MiB });
  const client = new S3Client({ endpoint: rgw.endpoint, region: rgw.region, forcePathStyle: true, credentials: rgw.admin });
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  client.destroy();
  return { name: 'radosgw', endpoint: rgw.endpoint, region: rgw.region, keys: rgw.admin, stop: () => rgw.stop() };
}

/** Peak RSS of this process above its idle RSS (after a GC) while `run` runs. */
async function withPeakRss<T>(run: () => Promise<T>): Promise<{ result: T; above: number; idle: number }> {
  gc();
  const idle = process.memoryUsage.rss();
  let peak = idle;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
  try {
    const result = await run();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { result, above: peak - idle, idle };
  } finally {
    clearInterval(timer);
  }
}

/** Peak resident set (VmHWM) of a child's own child (aws under its shell), read from /proc while it runs. */
function watchPeak(child: ChildProcess): () => number {
  let peak = 0;
  const timer = setInterval(() => {
    try {
      for (const pid of readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) * 1024);
      }
    } catch {
      // exited
    }
  }, 20);
  child.on('exit', () => clearInterval(timer));
  return () => peak;
}

/** `times` output ("0m1.234s 0m0.100s"): user + system seconds of one line. */
function cpuOfTimesLine(line: string): number {
  return [...line.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0);
}

async function awsCp(s: Server, file: string, key: string): Promise<{ seconds: number; peak: number; cpu: number }> {
  const env = { ...process.env, AWS_ACCESS_KEY_ID: s.keys.accessKeyId, AWS_SECRET_ACCESS_KEY: s.keys.secretAccessKey, AWS_EC2_METADATA_DISABLED: 'true', AWS_DEFAULT_REGION: s.region };
  const t0 = process.hrtime.bigint();
  // The shell's `times` reports its children's CPU (the second line) once aws has exited.
  const script = '"$0" s3 cp --only-show-errors --endpoint-url "$1" "$2" "$3" || exit $?; times >&2';
  const child = spawn('bash', ['-c', script, args.aws!, s.endpoint, file, `s3://${BUCKET}/${key}`], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const peakOf = watchPeak(child);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (code !== 0) throw new Error(`aws s3 cp failed (${code}): ${stderr}`);
  const lines = stderr.trim().split('\n');
  return { seconds, peak: peakOf(), cpu: cpuOfTimesLine(lines[lines.length - 1] ?? '') };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main(): Promise<void> {
  if (!existsSync(args.aws!)) throw new Error(`${args.aws} not found: apt-get install -y awscli, or pass --aws`);
  const work = path.join(os.tmpdir(), 'bucketcast-bench-upload');
  mkdirSync(work, { recursive: true });
  const files = new Map(sizes.map((mib) => [mib, benchFile(work, mib)]));
  const reader = new PartReader();
  const lines: string[] = [];
  try {
    for (const name of servers) {
      process.stderr.write(`starting ${name} …\n`);
      const s = name === 'radosgw' ? await startRgw() : await startS3rver(work);
      const app = appSettings.parse({ name: 'bench', s3: { bucket: BUCKET, endpoint: s.endpoint, region: s.region, forcePathStyle: true, queueSize, partSizeMiB } });
      Object.assign(process.env, { AWS_ACCESS_KEY_ID: s.keys.accessKeyId, AWS_SECRET_ACCESS_KEY: s.keys.secretAccessKey, AWS_EC2_METADATA_DISABLED: 'true' });
      const resolver = new TargetResolver({ localRoot: path.join(work, 'bucket') });
      const target = await resolver.resolve(app);
      const admin = new S3Client({ endpoint: s.endpoint, region: s.region, forcePathStyle: true, credentials: s.keys });
      try {
        for (const [mib, file] of files) {
          const rows: Array<{ ours: number; theirs: number; ourCpu: number; theirCpu: number }> = [];
          for (let r = 0; r < runs; r++) {
            process.stderr.write(`${name}: ${mib} MiB, run ${r + 1} …\n`);
            const ourTurn = async () => {
              const key = `bucketcast-${mib}-${r}.bin`;
              const cpu0 = process.cpuUsage();
              const t0 = process.hrtime.bigint();
              const measured = await withPeakRss(() => uploadObject({ target, key, contentType: 'application/octet-stream', source: { path: file }, reader }));
              const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
              const c = process.cpuUsage(cpu0);
              await admin.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
              return { ...measured, seconds, cpu: (c.user + c.system) / 1e6 };
            };
            const theirTurn = async () => {
              const awsKey = `awscli-${mib}-${r}.bin`;
              const t = await awsCp(s, file, awsKey);
              await admin.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: awsKey }));
              return t;
            };
            // Take turns going first: whatever the machine does meanwhile falls on both.
            let ours: Awaited<ReturnType<typeof ourTurn>>;
            let theirs: Awaited<ReturnType<typeof theirTurn>>;
            if (r % 2 === 0) {
              ours = await ourTurn();
              theirs = await theirTurn();
            } else {
              theirs = await theirTurn();
              ours = await ourTurn();
            }
            const { result, above, idle } = ours;
            rows.push({ ours: ours.seconds, theirs: theirs.seconds, ourCpu: ours.cpu, theirCpu: theirs.cpu });
            const gib = mib / 1024;
            const row = `| ${name} | ${mib} | ${r + 1}${r % 2 ? ' (aws first)' : ''} | ${(mib / ours.seconds).toFixed(1)} | ${(mib / theirs.seconds).toFixed(1)} | **${(theirs.seconds / ours.seconds).toFixed(2)}×** | ${(ours.cpu / gib).toFixed(1)} | ${(theirs.cpu / gib).toFixed(1)} | ${(above / MiB).toFixed(0)} (idle ${(idle / MiB).toFixed(0)}) | ${(theirs.peak / MiB).toFixed(0)} | ${result.parts} × ${result.partSize / MiB} MiB, ${queueSize} in flight; ${result.confirmedBy} |`;
            lines.push(row);
            process.stderr.write(`${row}\n`);
          }
          if (runs > 1) {
            const ours = median(rows.map((x) => x.ours));
            const theirs = median(rows.map((x) => x.theirs));
            const gib = mib / 1024;
            lines.push(`| ${name} | ${mib} | **median of ${runs}** | ${(mib / ours).toFixed(1)} | ${(mib / theirs).toFixed(1)} | **${median(rows.map((x) => x.theirs / x.ours)).toFixed(2)}×** | ${(median(rows.map((x) => x.ourCpu)) / gib).toFixed(1)} | ${(median(rows.map((x) => x.theirCpu)) / gib).toFixed(1)} | | | |`);
          }
        }
      } finally {
        admin.destroy();
        resolver.close();
        await s.stop();
      }
    }
  } finally {
    await reader.close();
  }
  const head = [
    `upload of random bytes (${os.cpus().length} cores, ${os.cpus()[0].model}, node ${process.version}); ratio = bucketcast MiB/s ÷ aws s3 cp MiB/s in the same run; command: npm run bench:upload -- ${process.argv.slice(2).join(' ')}; load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`,
    '',
    '| server | MiB | run | bucketcast MiB/s | aws s3 cp MiB/s | ratio | bucketcast CPU s/GiB | aws CPU s/GiB | bucketcast peak RSS above idle (MiB) | aws peak RSS (MiB) | bucketcast parts |',
    '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  process.stdout.write(`${[...head, ...lines].join('\n')}\n`);
}

await main();
