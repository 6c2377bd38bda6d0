/**
 * Fault injection: SIGKILL of the whole process group (the server
 * and its ffmpeg children) at random moments, across 20 runs of push →
 * record → finalize → upload on one data dir. Each run restarts the server,
 * waits until every earlier recording is finalized and uploaded, and checks:
 * each in the bucket exactly once, byte-identical to what was recorded, and
 * nothing left on local disk. Some runs kill the server during that recovery
 * instead of during a new push.
 *
 * The schedule comes from a seed, printed first, so a failure can be replayed:
 *   SEED=1234 npm test -- fault-sigkill          (SIGKILL_RUNS=5 for fewer runs)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, type TestServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push } from '../helpers/media.js';
import { credentialEnv, s3SettingsFor, startS3Target } from '../helpers/s3.js';
import { prng } from '../helpers/rtmp-fuzz.js';
import { assertHealthy, assertInBucketOnce, assertNothingLeftLocally, freshPushUploads, waitSettled } from '../helpers/fault.js';

const BUCKET = 'sigkill';
const RUNS = Number(process.env.SIGKILL_RUNS ?? 20);
const SEED = Number(process.env.SEED ?? Math.floor(Math.random() * 1e9));
/** Seconds after the push starts within which the kill falls: pushing (4 s), finalizing, uploading. */
const SPAN_S = 8;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the logs say a run had reached when it was killed. */
function phase(s: TestServer, streamId: string): string {
  const has = (msg: string) => s.logs.some((l) => l.msg === msg && (l.streamId === streamId || String(l.key).includes(`/${streamId}_`)));
  if (has('recording uploaded')) return 'uploaded';
  if (has('upload started')) return 'uploading';
  if (has('recording completed')) return 'finalized';
  if (has('recording started')) return 'recording';
  if (has('publish accepted')) return 'published';
  return 'connecting';
}

test(`SIGKILL at random moments across ${RUNS} push → record → upload runs (seed ${SEED})`, { timeout: 30 * 60_000 }, async (t) => {
  t.diagnostic(`SIGKILL schedule seed ${SEED}: replay with SEED=${SEED} npm test -- fault-sigkill`);
  process.stderr.write(`fault-sigkill: seed ${SEED} (replay: SEED=${SEED} npm test -- fault-sigkill)\n`);
  const rand = prng(SEED);
  const s3 = await startS3Target();
  await s3.createBucket(BUCKET);
  const src = await fixture({ seconds: 4, width: 640, height: 360, videoKbps: 1500, gop: 15 });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-sigkill-'));
  const options = {
    events: true,
    dataDir,
    env: credentialEnv(s3),
    config: {
      storage: { retryMaxDelaySeconds: 4 },
      applications: [{ name: 'live', previews: { periodSeconds: 1 }, s3: s3SettingsFor(s3, BUCKET, { partSizeMiB: 5 }) }],
    },
  };
  /** Recordings that must end up in the bucket: started, and not dropped for holding no media. */
  const expected = new Set<string>();
  const streamIds: string[] = [];
  const finalizedBeforeKill: string[] = [];
  const schedule: string[] = [];
  let server: TestServer | undefined;

  const settle = (s: TestServer) => {
    for (const l of s.logs) {
      if (l.msg === 'recording started') expected.add(String(l.name));
      if (l.msg === 'recording holds no media, nothing to keep') expected.delete(String(l.name));
    }
  };

  try {
    for (let run = 0; run < RUNS; run++) {
      server = await startServer(options);
      // Recovery of what the last kill left: finalized, announced, uploaded, local copies gone.
      const recoveryKill = run > 0 && rand() < 0.25;
      if (recoveryKill) {
        const at = Math.round(rand() * 3000);
        schedule.push(`run ${run}: kill ${at} ms into recovery`);
        await sleep(at);
        server.killGroup('SIGKILL');
        await server.exited;
        settle(server);
        continue;
      }
      const wanted = () => {
        settle(server!);
        return [...expected];
      };
      await waitSettled(s3, BUCKET, wanted, dataDir, streamIds).catch((err) => {
        throw new Error(`run ${run} (seed ${SEED}): earlier recordings not settled after restart: ${(err as Error).message}`);
      });
      settle(server);
      await assertInBucketOnce(s3, BUCKET, [...expected]);
      assertNothingLeftLocally(dataDir, 'live', streamIds);

      const streamId = `k${run}`;
      streamIds.push(streamId);
      const killAtMs = Math.round(300 + rand() * (SPAN_S * 1000 - 300));
      const p = push(server.rtmpUrl('live', streamId), src);
      await sleep(killAtMs);
      const reached = phase(server, streamId);
      server.killGroup('SIGKILL');
      await server.exited;
      await p.stop('SIGKILL');
      settle(server);
      schedule.push(`run ${run}: kill ${killAtMs} ms after the push of ${streamId} started (${reached})`);
      if (reached === 'finalized' || reached === 'uploading' || reached === 'uploaded') finalizedBeforeKill.push(streamId);
    }
    t.diagnostic(schedule.join('\n'));

    server = await startServer(options);
    const last = server;
    await waitSettled(s3, BUCKET, () => (settle(last), [...expected]), dataDir, streamIds);
    settle(server);
    // How many survive depends on where the seed put the kills (one within the first half second of media
    // leaves nothing to keep); every recording finalized before its kill must be among them.
    assert.ok(expected.size > 0, `${expected.size} recordings survived ${RUNS} kills`);
    for (const streamId of finalizedBeforeKill) assert.ok([...expected].some((n) => n.startsWith(`${streamId}_`)), `${streamId}, finalized before its kill, survived`);
    const docs = await assertInBucketOnce(s3, BUCKET, [...expected]);
    for (const [name, doc] of docs) assert.ok(doc.durationSeconds > 0, `${name} holds media (${doc.durationSeconds} s)`);
    assertNothingLeftLocally(dataDir, 'live', streamIds);
    await assertHealthy(server);
    const fresh = await freshPushUploads(server, src, 'after');
    await assertInBucketOnce(s3, BUCKET, [...expected, fresh]);
    t.diagnostic(`${expected.size} recordings in the bucket exactly once after ${RUNS} kills`);
  } catch (err) {
    process.stderr.write(`fault-sigkill failed with seed ${SEED}; schedule so far:\n${schedule.join('\n')}\n`);
    // The last server's warnings and errors, to see why without replaying.
    for (const l of server?.logs ?? []) if (Number(l.level) >= 40 || l.level === 'warn' || l.level === 'error') process.stderr.write(`${JSON.stringify(l)}\n`);
    throw err;
  } finally {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    await s3.cleanup();
  }
});
