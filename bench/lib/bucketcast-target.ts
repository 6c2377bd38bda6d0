/**
 * bucketcast as the bench runs it: the real server compiled as `npm start` runs
 * it (`npm run build`, then dist/main.js) as a child process through the test helper, on free ports, with a temp data dir and an
 * application recording MP4 + HLS + previews (the defaults). Nothing else is
 * configured (no BUCKETCAST_* from the shell either), so no upload to S3 takes part.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, startServer, type TestServer } from '../../test/helpers/server.js';
import { countFiles, recordedIn, reEscape } from './probe.js';
import type { BenchTarget, Recorded } from './target.js';

export const BUCKETCAST_APP = {
  name: 'live',
  mp4MuxingEnabled: true,
  hlsMuxingEnabled: true,
  hlsTime: 2,
  previews: { enabled: true, periodSeconds: 5, height: 480, format: 'jpg' },
};

let built = false;

/**
 * How the benches run the server: compiled, as `npm start` does (`npm run build` once per bench run), or with
 * BENCH_SOURCES=1 from the sources through tsx (the A/B of the build).
 */
export function benchServerEntry(): { compiled: boolean } {
  if (process.env.BENCH_SOURCES === '1') return { compiled: false };
  if (!built) execFileSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  built = true;
  return { compiled: true };
}

export class BucketcastTarget implements BenchTarget {
  private constructor(
    readonly label: string,
    private readonly server: TestServer,
    private readonly configDir: string,
  ) {}

  /** `recordSegmentSeconds`: parts closing while the run goes on (their durations are summed per stream). */
  /** `nodeFlags`: the server's node flags instead of those of `npm start` (`[]`: V8's defaults, for an A/B in one run). */
  static async start(o: { recordSegmentSeconds?: number; nodeFlags?: string[] } = {}): Promise<BucketcastTarget> {
    // The helper passes our environment on: drop any BUCKETCAST_* the shell has (an S3 bucket, other
    // apps) so that the server runs on exactly the config below.
    for (const k of Object.keys(process.env)) if (k.startsWith('BUCKETCAST_')) delete process.env[k];
    // Our own config file (the helper's `config` option would leave its temp dir behind).
    const configDir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-bench-cfg-'));
    const file = path.join(configDir, 'bucketcast.json');
    writeFileSync(file, JSON.stringify({ applications: [{ ...BUCKETCAST_APP, ...(o.recordSegmentSeconds === undefined ? {} : { recordSegmentSeconds: o.recordSegmentSeconds }) }] }));
    try {
      const server = await startServer({ ...benchServerEntry(), env: { BUCKETCAST_CONFIG: file, BUCKETCAST_LOG_LEVEL: 'info', BUCKETCAST_CHECK_ANSWERS: '0' }, nodeFlags: o.nodeFlags });
      const label = o.nodeFlags ? `bucketcast, node ${o.nodeFlags.join(' ') || 'without flags'}` : 'bucketcast (MP4 + HLS + previews)';
      return new BucketcastTarget(label, server, configDir);
    } catch (err) {
      rmSync(configDir, { recursive: true, force: true });
      throw err;
    }
  }

  roots(): number[] {
    return [this.server.proc.pid!];
  }

  publishUrl(streamId: string): string {
    return this.server.rtmpUrl('live', streamId);
  }

  async finish(streamIds: string[]): Promise<void> {
    // Every recording is final once its `recording completed` line is logged; then a clean stop.
    const timeoutMs = 60_000 + streamIds.length * 2_000;
    const pending = new Set(streamIds);
    try {
      await this.server.waitForLog(
        (l) => {
          if (l.msg === 'recording completed' && typeof l.streamId === 'string') pending.delete(l.streamId);
          return pending.size === 0;
        },
        timeoutMs,
        `recording completed for ${streamIds.length} streams`,
      );
    } catch (err) {
      process.stderr.write(`bucketcast: ${(err as Error).message.split('\n')[0]} (still pending: ${[...pending].join(', ')})\n`);
    }
    await this.server.stop();
  }

  recorded(streamIds: string[]): Promise<Map<string, Recorded>> {
    // `<streamId>_<yyyymmddThhmmssZ>[-k][_p0001].mp4`: parts are summed; a restarted recording would add a second file.
    return recordedIn(path.join(this.server.dataDir, 'live', 'streams'), streamIds, (id) => new RegExp(`^${reEscape(id)}_\\d{8}T\\d{6}Z(-\\d+)?(_p\\d{4})?\\.mp4$`));
  }

  outputs(): string {
    const dir = path.join(this.server.dataDir, 'live');
    return `${countFiles(path.join(dir, 'streams'), '.ts')} HLS segments, ${countFiles(path.join(dir, 'previews'), '.jpg')} preview images`;
  }

  /** Messages the server logged at warn or above, for the report. */
  problems(): string[] {
    return this.server.logs.filter((l) => ['warn', 'error', 'fatal'].includes(String(l.level))).map((l) => String(l.msg));
  }

  abort(): void {
    this.server.killGroup('SIGKILL');
    this.server.cleanup();
    rmSync(this.configDir, { recursive: true, force: true });
  }

  async dispose(keep = false): Promise<void> {
    await this.server.stop();
    // BENCH_SERVER_OUTPUT: the server's non-JSON output (e.g. `--trace-gc` lines from BENCH_NODE_FLAGS), appended per run.
    const out = process.env.BENCH_SERVER_OUTPUT;
    if (out) appendFileSync(out, `# ${this.label}\n${this.server.otherOutput.join('\n')}\n`);
    rmSync(this.configDir, { recursive: true, force: true });
    if (keep) {
      // The server's log with the recordings, to read why a stream lost or fell behind.
      writeFileSync(path.join(this.server.dataDir, 'server.log'), this.server.logs.map((l) => JSON.stringify(l)).join('\n') + '\n');
      process.stderr.write(`  kept ${this.server.dataDir} (server.log: the server's log)\n`);
    }
    else this.server.cleanup();
  }
}
