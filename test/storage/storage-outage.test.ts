/**
 * S3 stopped before the stream ends and started again 30 s later.
 * The uploads fail as retryable while it is down (files kept), then complete:
 * every file of the recording in the bucket once, byte-identical to what was
 * on disk during the outage, no multipart upload left, no local copy left.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push } from '../helpers/media.js';
import { credentialEnv, s3SettingsFor, startS3Target } from '../helpers/s3.js';

const BUCKET = 'outage';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('an S3 outage of 30 s loses nothing and duplicates nothing', async () => {
  const s3 = await startS3Target();
  await s3.createBucket(BUCKET);
  const src = await fixture({ seconds: 20 });
  const server = await startServer({
    events: true,
    env: credentialEnv(s3),
    config: {
      storage: { retryMaxDelaySeconds: 4 },
      applications: [{ name: 'live', previews: { periodSeconds: 2 }, s3: s3SettingsFor(s3, BUCKET, { partSizeMiB: 5 }) }],
    },
  });
  try {
    const p = push(server.rtmpUrl('live', 'storm'), src);
    const started = await server.events.waitFor('recording.started', () => true, 15_000, 'recording started');
    const name = String(started.name);
    await new Promise((r) => setTimeout(r, 12_000));
    await s3.halt();
    const haltedAt = Date.now();
    assert.equal((await p.done).code, 0, 'the stream ended normally');

    // While S3 is down: retryable failures, the files stay on disk.
    await server.events.waitFor('recording.completed', (e) => e.name === name, 30_000, 'recording completed');
    const failure = await server.events.waitFor('upload.failed', (e) => e.errorClass === 'retryable', 20_000, 'a retryable failure');
    assert.equal(failure.code, 'unreachable');
    const dirs = ['streams', 'previews'].map((f) => path.join(server.dataDir, 'live', f));
    const onDisk = new Map<string, string>();
    for (const dir of dirs) {
      for (const n of readdirSync(dir).filter((x) => x.startsWith(`${name}.`) || x.startsWith(`${name}_`))) onDisk.set(n, sha256(readFileSync(path.join(dir, n))));
    }
    assert.ok(onDisk.size >= 15, `the recording's files wait on disk (${onDisk.size})`);
    assert.ok(!server.logs.some((l) => l.msg === 'upload completed'), 'nothing uploaded during the outage');

    await new Promise((r) => setTimeout(r, Math.max(0, 30_000 - (Date.now() - haltedAt))));
    await s3.restart();
    await server.events.waitFor('upload.completed', (e) => e.kind === 'metadata' && String(e.key).includes(name), 90_000, 'recording uploaded after the outage');

    const listed = await s3.listObjects(BUCKET);
    const keys = listed.map((o) => o.key).sort();
    const expected = [...onDisk.keys()].map((n) => (n.endsWith('.jpg') ? `previews/${n}` : `streams/${n}`));
    assert.deepEqual(keys, [...expected, `streams/${name}.json`].sort(), 'every file, and only those');
    const writes = s3.writes(BUCKET);
    for (const k of keys) assert.equal(writes.get(k), 1, `${k} written exactly once`);
    for (const [n, sum] of onDisk) {
      const key = n.endsWith('.jpg') ? `previews/${n}` : `streams/${n}`;
      assert.equal(sha256(await s3.getObject(BUCKET, key)), sum, `${n} is byte-identical`);
      assert.ok(!existsSync(path.join(server.dataDir, 'live', n.endsWith('.jpg') ? 'previews' : 'streams', n)), `${n} deleted locally after upload`);
    }
    assert.deepEqual(await s3.listMultipartUploads(BUCKET), [], 'no incomplete multipart upload');
    assert.deepEqual(s3.pendingUploadDirs(BUCKET), []);
    assert.ok(!server.logs.some((l) => l.msg?.startsWith('upload failed;')), 'no permanent failure');
    // While the target is down the app is paused: one probe per backoff, not one request per file.
    const attempts = server.logs.filter((l) => l.msg === 'upload failed, will retry').length;
    assert.ok(attempts >= 3 && attempts < onDisk.size, `${attempts} failed attempts for ${onDisk.size} files over the outage`);
  } finally {
    await server.stop();
    server.cleanup();
    await s3.cleanup();
  }
});
