/**
 * The server SIGKILLed in the middle of a multipart upload of
 * a file over 200 MB. After the restart the interrupted upload is resumed (its
 * UploadId was recorded before the first part went out, each part as it was
 * acknowledged; s3rver has no ListParts, so the recorded parts are used), the
 * object lands once and intact, and no incomplete multipart upload remains.
 *
 * The big recording is a crashed recording's work dir (manifest + fragmented
 * MP4 of noisy lossless video) planted in the data dir: start-up recovery
 * finalizes it and queues it like any other, as after a real crash.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from '../helpers/server.js';
import { credentialEnv, s3SettingsFor, startS3Target } from '../helpers/s3.js';
import { plantBigRecording, sha256File } from '../helpers/big-recording.js';

const BUCKET = 'crash';
const MB = 1_000_000;

test('SIGKILL in the middle of a 200+ MB multipart upload: after restart it resumes, the object lands once, intact, no parts left', async () => {
  const s3 = await startS3Target();
  await s3.createBucket(BUCKET);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-crash-'));
  const { manifest, paths } = await plantBigRecording(dataDir, 'big_20261122T120000Z');
  assert.ok(statSync(paths.live).size >= 200 * MB, `the live file is ${statSync(paths.live).size} bytes`);
  const options = {
    events: true,
    dataDir,
    env: credentialEnv(s3),
    config: { applications: [{ name: 'live', s3: s3SettingsFor(s3, BUCKET, { partSizeMiB: 5, queueSize: 1 }) }] },
  };

  const first = await startServer(options);
  let second: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    const started = await first.waitForLog((l) => l.msg === 'multipart upload started', 120_000, 'multipart upload started');
    const uploadId = String(started.uploadId);
    await first.events.waitFor('upload.progress', (e) => Number(e.loaded) > 0 && Number(e.loaded) < Number(e.total), 120_000, 'upload progress');
    first.killGroup('SIGKILL');
    assert.equal((await first.exited).signal, 'SIGKILL');
    assert.ok(!first.logs.some((l) => l.msg === 'upload completed'), 'killed before the upload completed');
    assert.deepEqual(s3.pendingUploadDirs(BUCKET), [uploadId], 'the interrupted multipart upload left parts behind');
    assert.deepEqual(await s3.listObjects(BUCKET), [], 'no object yet');

    const mp4 = paths.final;
    assert.ok(existsSync(mp4), 'the local MP4 is kept while its upload is unfinished');
    const localSum = await sha256File(mp4);
    const localSize = statSync(mp4).size;
    assert.ok(localSize >= 200 * MB);

    second = await startServer(options);
    const resumed = await second.waitForLog((l) => l.msg === 'resuming a multipart upload', 60_000, 'resuming the interrupted upload');
    assert.equal(resumed.uploadId, uploadId);
    const done = await second.waitForLog((l) => l.msg === 'upload completed' && l.kind === 'mp4', 180_000, 'upload completed');
    assert.ok(Number(done.parts) >= 40, `${done.parts} parts`);
    assert.ok(Number(done.resumedParts) >= 1, `${done.resumedParts} parts not sent again`);
    await second.events.waitFor('upload.completed', (e) => e.kind === 'metadata', 60_000, 'recording uploaded');

    const key = `streams/${manifest.name}.mp4`;
    assert.deepEqual((await s3.listObjects(BUCKET)).map((o) => o.key), [`streams/${manifest.name}.json`, key]);
    const head = await s3.headObject(BUCKET, key);
    assert.equal(head.size, localSize);
    assert.equal(createHash('sha256').update(await s3.getObject(BUCKET, key)).digest('hex'), localSum, 'the object is intact');
    assert.equal(s3.writes(BUCKET).get(key), 1, 'the object was completed once');
    assert.deepEqual(await s3.listMultipartUploads(BUCKET), [], 'no incomplete multipart upload (ListMultipartUploads)');
    assert.deepEqual(s3.pendingUploadDirs(BUCKET), [], 'no parts left on the server');
    assert.ok(!existsSync(mp4), 'primary mode: the local copy went after the verified upload');
  } finally {
    await first.stop();
    await second?.stop();
    second?.cleanup();
    first.cleanup();
    await s3.cleanup();
  }
});
