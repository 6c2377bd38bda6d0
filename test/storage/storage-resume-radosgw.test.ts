/**
 * A multipart upload resumes after a crash instead of starting
 * again from byte 0. The server is SIGKILLed once 60 % of a 300+ MB file's
 * parts are acknowledged (radosgw, behind the byte-counting test proxy);
 * after the restart at most 45 % of the file's bytes go up again, the object
 * is byte-identical and no incomplete multipart upload remains — with full
 * access (the parts the service holds come from ListParts) and with Twilio's
 * write-only policy (ListParts denied: the parts recorded in the queue).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, until, type TestServer } from '../helpers/server.js';
import { credentialEnv, s3SettingsFor, type S3Keys } from '../helpers/s3.js';
import { startRadosgwTarget, type RadosgwTarget } from '../helpers/radosgw-target.js';
import { GRANTS } from '../helpers/s3-policy.js';
import { bigLiveFile, plantBigRecording, sha256File } from '../helpers/big-recording.js';

const MB = 1_000_000;
const PART = 5 * 1024 * 1024;

let rgw: RadosgwTarget;
before(async () => {
  await bigLiveFile(10);
  rgw = await startRadosgwTarget({ kms: false });
});
after(async () => {
  await rgw?.cleanup();
});

const upBytes = () => rgw.traffic.filter((t) => t.dir === 'up').reduce((n, t) => n + t.bytes, 0);

async function killAt60AndResume(bucket: string, keys: S3Keys): Promise<{ resentPct: number; ackedPct: number; done: Record<string, unknown>; second: TestServer }> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-resume-'));
  const { manifest, paths } = await plantBigRecording(dataDir, 'big_20261204T120000Z', { seconds: 10 });
  const options = { events: true, dataDir, env: credentialEnv(rgw, keys), config: { applications: [{ name: 'live', s3: s3SettingsFor(rgw, bucket, { partSizeMiB: 5, queueSize: 4 }) }] } };
  const first = await startServer(options);
  let second: TestServer | undefined;
  try {
    const started = await first.waitForLog((l) => l.msg === 'multipart upload started', 180_000, 'multipart upload started');
    const size = statSync(paths.final).size;
    assert.ok(size >= 300 * MB, `the file has ${size} bytes`);
    const parts = Math.ceil(size / PART);
    const acked = () => new Set(first.logs.filter((l) => l.msg === 'part uploaded').map((l) => l.partNumber)).size;
    await until(() => acked() >= Math.ceil(parts * 0.6), 180_000, '60 % of the parts acknowledged', 20);
    first.killGroup('SIGKILL');
    assert.equal((await first.exited).signal, 'SIGKILL');
    const ackedAtKill = acked();
    assert.ok(ackedAtKill < parts && !first.logs.some((l) => l.msg === 'upload completed'), 'killed before the upload completed');
    assert.ok(existsSync(paths.final), 'the local MP4 is kept');
    const localSum = await sha256File(paths.final);

    const before = upBytes();
    second = await startServer(options);
    const resumed = await second.waitForLog((l) => l.msg === 'resuming a multipart upload', 60_000, 'resuming');
    assert.equal(resumed.uploadId, started.uploadId);
    const done = await second.waitForLog((l) => l.msg === 'upload completed' && l.kind === 'mp4', 240_000, 'upload completed');
    await second.events.waitFor('upload.completed', (e) => e.kind === 'metadata', 60_000, 'recording uploaded');
    const resent = upBytes() - before;

    const key = `streams/${manifest.name}.mp4`;
    const body = await rgw.getObject(bucket, key);
    assert.equal(body.length, size);
    assert.equal(createHash('sha256').update(body).digest('hex'), localSum, 'the object is byte-identical');
    assert.equal(done.sha256, localSum);
    assert.equal(rgw.writes(bucket).get(key), 1, 'completed once');
    assert.deepEqual(await rgw.listMultipartUploads(bucket), [], 'no incomplete multipart upload');
    assert.ok(!existsSync(paths.final), 'primary mode: the local copy went after the verified upload');
    const resentPct = (100 * resent) / size;
    assert.ok(resentPct <= 45, `${resentPct.toFixed(1)} % of the file's bytes sent again`);
    return { resentPct, ackedPct: (100 * ackedAtKill) / parts, done, second };
  } finally {
    await first.stop();
    await second?.stop();
    second?.cleanup();
    first.cleanup();
  }
}

test('SIGKILL at 60 % of a 300+ MB upload (radosgw): the restart sends only the missing parts (ListParts)', async () => {
  await rgw.createBucket('resume-full');
  const r = await killAt60AndResume('resume-full', rgw.credentials);
  assert.ok(Number(r.done.resumedParts) > 0);
  assert.equal(r.done.verifiedBy, 'head');
  process.stdout.write(`# full access: killed with ${r.ackedPct.toFixed(1)} % of the parts acknowledged; ${r.resentPct.toFixed(1)} % of the bytes sent again\n`);
});

test('the same with a write-only policy: ListParts denied, the recorded parts are trusted', async () => {
  await rgw.createBucket('resume-twilio');
  const keys = await rgw.grant('resume-twilio', GRANTS.twilio);
  const r = await killAt60AndResume('resume-twilio', keys);
  assert.ok(rgw.requests.some((q) => q.bucket === 'resume-twilio' && q.method === 'GET' && q.query.includes('uploadId') && q.status === 403), 'ListParts was denied');
  assert.equal(r.done.verifiedBy, 'upload-response');
  assert.equal(r.done.confirmedBy, 'part-etags', 'confirmed by every part ETag, the resumed ones from the queue');
  process.stdout.write(`# write-only: killed with ${r.ackedPct.toFixed(1)} % of the parts acknowledged; ${r.resentPct.toFixed(1)} % of the bytes sent again\n`);
});
