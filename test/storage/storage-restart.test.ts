/**
 * Restarts of the real server:
 * - SIGTERM during a multipart upload: the server stops within its shutdown
 *   timeout and gives the file back to the queue (not a failure), keeping the
 *   multipart upload and its acknowledged parts; the next start resumes it
 *   and completes the object once.
 * - A wrong setting in the config file: the upload fails and the files stay;
 *   restarted with the setting corrected, the server uploads them.
 */
import { test } from 'node:test';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push } from '../helpers/media.js';
import { credentialEnv, s3SettingsFor, startS3Target } from '../helpers/s3.js';
import { plantBigRecording, sha256File } from '../helpers/big-recording.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('SIGTERM during an upload: a clean stop, the upload resumed after the restart and done once, no parts left', async () => {
  const s3 = await startS3Target();
  await s3.createBucket('term');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-term-'));
  const { manifest, paths } = await plantBigRecording(dataDir, 'term_20261122T120000Z');
  const options = { events: true, dataDir, env: credentialEnv(s3), config: { applications: [{ name: 'live', s3: s3SettingsFor(s3, 'term', { partSizeMiB: 5, queueSize: 1 }) }] } };
  const first = await startServer(options);
  let second: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    await first.events.waitFor('upload.progress', (e) => Number(e.loaded) > 0 && Number(e.loaded) < Number(e.total), 120_000, 'upload progress');
    const t0 = Date.now();
    first.proc.kill('SIGTERM');
    const exit = await first.exited;
    assert.equal(exit.code, 0, 'clean exit');
    assert.ok(Date.now() - t0 < 10_000, 'within the shutdown timeout');
    assert.ok(first.logs.some((l) => l.msg === 'upload interrupted by shutdown; it starts again at next start'));
    assert.ok(!first.logs.some((l) => l.msg === 'aborted the failed multipart upload'), 'the parts sent so far are kept');
    assert.ok(!first.logs.some((l) => l.msg === 'upload failed, will retry' || l.msg?.startsWith('upload failed;')), 'a shutdown is not a failure');
    const uploadId = String(first.logs.find((l) => l.msg === 'multipart upload started')!.uploadId);
    const ackedParts = new Set(first.logs.filter((l) => l.msg === 'part uploaded').map((l) => Number(l.partNumber)));
    const acked = ackedParts.size;
    assert.ok(acked > 0, 'parts were acknowledged before the stop');
    assert.deepEqual(s3.pendingUploadDirs('term'), [uploadId], 'the upload is left to be resumed');
    const localSum = await sha256File(paths.final);

    second = await startServer(options);
    const resumed = await second.waitForLog((l) => l.msg === 'resuming a multipart upload', 60_000, 'resuming');
    assert.equal(resumed.uploadId, uploadId);
    assert.ok(Number(resumed.recordedParts) >= acked, `${resumed.recordedParts} parts recorded, ${acked} acknowledged`);
    const done = await second.waitForLog((l) => l.msg === 'upload completed' && l.kind === 'mp4', 180_000, 'upload completed after the restart');
    assert.equal(done.sha256, localSum);
    assert.ok(Number(done.resumedParts) >= acked, `${done.resumedParts} parts not sent again`);
    const sentAgain = s3.requests.filter((r) => r.uploadId === uploadId && r.partNumber !== undefined && r.at > Date.parse(String(resumed.time)) && ackedParts.has(r.partNumber));
    assert.deepEqual(sentAgain.map((r) => r.partNumber), [], 'no acknowledged part was sent again');
    await second.events.waitFor('upload.completed', (e) => e.kind === 'metadata', 60_000, 'recording uploaded');
    const key = `streams/${manifest.name}.mp4`;
    assert.equal(s3.writes('term').get(key), 1, 'completed once');
    assert.equal(sha256(await s3.getObject('term', key)), localSum, 'the object is intact');
    assert.deepEqual(s3.pendingUploadDirs('term'), []);
    assert.ok(!existsSync(paths.final));
  } finally {
    await first.stop();
    await second?.stop();
    first.cleanup();
    await s3.cleanup();
  }
});

test('a wrong bucket in the config file: files kept, uploaded after a restart with the bucket corrected', async () => {
  const s3 = await startS3Target();
  await s3.createBucket('right-bucket');
  const src = await fixture({ seconds: 4 });
  const config = (bucket: string) => ({ applications: [{ name: 'live', s3: s3SettingsFor(s3, bucket) }] });
  const first = await startServer({ events: true, env: credentialEnv(s3), config: config('wrong-bucket') });
  let second: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    assert.equal((await push(first.rtmpUrl('live', 'fixme'), src).done).code, 0);
    const name = String((await first.events.waitFor('recording.completed', () => true, 20_000, 'recording completed')).name);
    const failed = await first.events.waitFor('upload.failed', (e) => e.errorClass === 'permanent', 30_000, 'a permanent failure');
    assert.equal(failed.code, 'bucket_not_found');
    assert.match(failed.message, /bucket "wrong-bucket" does not exist/);
    await first.stop();
    const streams = path.join(first.dataDir, 'live', 'streams');
    const kept = readdirSync(streams).filter((n) => n.startsWith(name));
    assert.ok(kept.length >= 3, `files kept: ${kept.join(', ')}`);

    second = await startServer({ events: true, dataDir: first.dataDir, env: credentialEnv(s3), config: config('right-bucket') });
    const started = await second.waitForLog((l) => l.msg === 'upload queue started');
    assert.ok(Number(started.retriedFailed) >= kept.length, 'failed uploads are queued again at start');
    // Uploaded right after the start, maybe before the events channel opened: ask the API.
    await second.events.waitForRecording((r) => r.name === name && r.uploadState === 'uploaded', 60_000, 'recording uploaded');
    const keys = (await s3.listObjects('right-bucket')).map((o) => o.key);
    for (const n of kept) assert.ok(keys.includes(`streams/${n}`), `${n} uploaded`);
    assert.deepEqual(readdirSync(streams).filter((n) => n.startsWith(name)), [], 'and then deleted locally');
  } finally {
    await first.stop();
    await second?.stop();
    first.cleanup();
    await s3.cleanup();
  }
});
