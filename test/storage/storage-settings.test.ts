/**
 * Bad storage settings. Wrong credentials, a missing bucket and a
 * wrong region each end as failed uploads with a clear message and the files
 * still on disk; correcting the setting (a settings change through the app
 * registry) uploads them. Also: a retry on request, the checksum setting
 * against a server that refuses the SDK's checksum headers, and an assumed
 * role. (Least-privilege policies run in the shared suite, storage-suite.ts.)
 *
 * Runs the storage module in the test process against s3rver (see
 * test/helpers/s3.ts for what it adds: per-bucket regions answered as AWS
 * does, checksum-refusing buckets).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startS3Target, type S3TestTarget } from '../helpers/s3.js';
import { until } from '../helpers/server.js';
import { appOf, plantRecording, removeDir, startStorage, waitForUploaded, type StorageHarness } from '../helpers/storage.js';
import type { AppSettings } from '../../src/config/schema.js';

let s3: S3TestTarget;
let h: StorageHarness;
let goodCred: string;
let badCred: string;
const SECRETS = ['good-secret-d0e1f2a3b4c5', 'bad-secret-9f8e7d6c5b4a'];

before(async () => {
  s3 = await startS3Target();
  for (const b of ['good', 'eu-bucket', 'strict']) await s3.createBucket(b);
  s3.setBucketRegion('eu-bucket', 'eu-west-1');
  s3.rejectChecksumHeaders('strict');
  h = await startStorage([appOf({ name: 'setup', s3RecordingEnabled: false })]);
  goodCred = (await h.store.credentials.create({ credentials: `S3RVER:${SECRETS[0]}`, friendlyName: 'good' })).id;
  badCred = (await h.store.credentials.create({ credentials: `AKIAWRONGKEY0000:${SECRETS[1]}`, friendlyName: 'wrong' })).id;
});

after(async () => {
  await h.stop();
  const all = h.logLines.join('\n');
  for (const secret of SECRETS) assert.ok(!all.includes(secret), 'no secret in any log line');
  removeDir(h.dataDir);
  await s3.cleanup();
});

/** An app pointing at the s3rver bucket with a stored credential. */
function app(name: string, s3Settings: Record<string, unknown>): AppSettings {
  return appOf({
    name,
    s3: { endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', bucket: 'good', credentials: { source: 'stored', credentialId: goodCred }, partSizeMiB: 5, ...s3Settings },
  });
}

async function filesOf(recordingId: string) {
  return (await h.store.catalog.getRecording(recordingId))!.files;
}

/** Announces a recording and waits for its permanent failure; checks nothing was lost. */
async function expectFailure(appName: string, code: string, message: RegExp) {
  const rec = plantRecording(h.dataDir, appName, { mp4Bytes: 12 * 1024 * 1024 });
  assert.equal(await h.events.emit('recording.completed', rec.completed), true);
  const failed = await h.waitFor('upload.failed', (e) => e.recordingId === rec.completed.recordingId && e.errorClass === 'permanent');
  assert.equal(failed.code, code);
  assert.match(failed.message, message);
  // The failed attempt fails every queued file of the app; one already in flight fails on its own.
  const files = await until(async () => {
    const all = await filesOf(rec.completed.recordingId);
    return all.every((f) => f.state === 'failed') ? all : undefined;
  }, 30_000, 'every file failed');
  for (const f of files) {
    assert.equal(f.errorCode, code, f.name);
    assert.match(f.lastError!, message, f.name);
  }
  for (const f of rec.completed.files) assert.ok(existsSync(f.path), `${f.name} is still on disk`);
  return rec;
}

/** Waits until the recording (sidecar last) is uploaded; checks every object byte for byte. */
async function expectUploaded(rec: ReturnType<typeof plantRecording>, bucket: string, prefix = '') {
  await waitForUploaded(h, rec, 30_000);
  const files = await filesOf(rec.completed.recordingId);
  assert.ok(files.every((f) => f.state === 'uploaded'), files.map((f) => `${f.name}=${f.state}`).join(', '));
  for (const [name, bytes] of rec.contents) {
    const f = files.find((x) => x.name === name)!;
    assert.equal(f.bucket, bucket);
    assert.ok(f.key!.startsWith(prefix));
    assert.ok((await s3.getObject(bucket, f.key!)).equals(bytes), `${name} is byte-identical in the bucket`);
    assert.equal(f.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.ok(!existsSync(f.localPath!), `primary mode: local ${name} deleted`);
  }
}

test('wrong credentials fail with a clear message, keep the files, and upload once corrected', async () => {
  h.apps.put(app('creds', { credentials: { source: 'stored', credentialId: badCred } }));
  const rec = await expectFailure('creds', 'invalid_credentials', /access key id is not known to the S3 service at http:\/\/127\.0\.0\.1:\d+: check the credentials/);
  h.apps.put(app('creds', {}));
  await expectUploaded(rec, 'good');
  // Typed events: progress up to the whole file, then completed with where it is and its checksum.
  const mp4 = rec.completed.files.find((f) => f.kind === 'mp4')!;
  const progress = h.emitted.filter((e) => e.name === 'upload.progress' && (e.payload as { name: string }).name === mp4.name).map((e) => e.payload as { loaded: number; total: number; key: string });
  assert.ok(progress.length >= 1);
  assert.deepEqual(progress.map((p) => p.loaded), [...progress.map((p) => p.loaded)].sort((a, b) => a - b), 'progress only grows');
  assert.equal(progress[progress.length - 1].loaded, mp4.size);
  assert.equal(progress[progress.length - 1].total, mp4.size);
  const completed = await h.waitFor('upload.completed', (e) => e.name === mp4.name);
  assert.equal(completed.bucket, 'good');
  assert.equal(completed.key, `streams/${mp4.name}`);
  assert.equal(completed.size, mp4.size);
  assert.equal(completed.sha256, createHash('sha256').update(rec.contents.get(mp4.name)!).digest('hex'));
  assert.equal(completed.url, `${s3.endpoint}/good/streams/${mp4.name}`);
  assert.equal(completed.verifiedBy, 'head');
  assert.equal(completed.localDeleted, true);
  assert.match(completed.etag, /^[0-9a-f]{32}(-\d+)?$/);
  const failed = h.emitted.find((e) => e.name === 'upload.failed' && (e.payload as { recordingId: string }).recordingId === rec.completed.recordingId)!.payload as { attempts: number; bucket: string; errorClass: string };
  assert.equal(failed.errorClass, 'permanent');
  assert.equal(failed.bucket, 'good');
  assert.equal(failed.attempts, 1);
});

test('a missing bucket fails with a clear message, keeps the files, and uploads once corrected', async () => {
  h.apps.put(app('nobucket', { bucket: 'does-not-exist' }));
  const rec = await expectFailure('nobucket', 'bucket_not_found', /bucket "does-not-exist" does not exist at http:\/\/127\.0\.0\.1:\d+: create it or fix s3\.bucket/);
  h.apps.put(app('nobucket', { bucket: 'good', prefix: 'fixed' }));
  await expectUploaded(rec, 'good', 'fixed/');
});

test('a wrong region fails naming the right one, keeps the files, and uploads once corrected', async () => {
  h.apps.put(app('region', { bucket: 'eu-bucket' }));
  const rec = await expectFailure('region', 'wrong_region', /^bucket "eu-bucket" is in eu-west-1, not us-east-1: set s3\.region to "eu-west-1"$/);
  h.apps.put(app('region', { bucket: 'eu-bucket', region: 'eu-west-1' }));
  await expectUploaded(rec, 'eu-bucket');
});

test('a failed upload is retried on request once the cause is gone', async () => {
  h.apps.put(app('later', { bucket: 'created-later' }));
  const rec = await expectFailure('later', 'bucket_not_found', /"created-later" does not exist/);
  await s3.createBucket('created-later');
  assert.ok((await h.service.retry({ app: 'later' })) >= rec.completed.files.length);
  await expectUploaded(rec, 'created-later');
  assert.ok(h.service.failures().byCode.bucket_not_found >= 1, 'failures are counted by code');
  assert.ok(h.service.failures().permanent >= 1);
});

test('checksum setting: a server that refuses checksum headers gets an actionable error, then works with WHEN_REQUIRED', async () => {
  h.apps.put(app('checksums', { bucket: 'strict', checksumCalculation: 'WHEN_SUPPORTED' }));
  const rec = await expectFailure('checksums', 'checksum_unsupported', /set s3\.checksumCalculation to "WHEN_REQUIRED"/);
  h.apps.put(app('checksums', { bucket: 'strict', checksumCalculation: 'WHEN_REQUIRED' }));
  await expectUploaded(rec, 'strict');
  // Every part carried the Content-MD5 of exactly its bytes, and no flexible-checksum header.
  const mp4 = rec.contents.get(`${rec.completed.name}.mp4`)!;
  const key = (await filesOf(rec.completed.recordingId)).find((f) => f.kind === 'mp4')!.key!;
  const parts = s3.requests.filter((r) => r.bucket === 'strict' && r.key === key && r.method === 'PUT' && r.partNumber && !r.checksumHeaders.length);
  const uploadId = parts[parts.length - 1].uploadId;
  const last = parts.filter((r) => r.uploadId === uploadId).sort((a, b) => a.partNumber! - b.partNumber!);
  assert.deepEqual(last.map((r) => r.partNumber), [1, 2, 3], '12 MiB in 5 MiB parts');
  for (const r of last) {
    const slice = mp4.subarray((r.partNumber! - 1) * 5 * 1024 * 1024, r.partNumber! * 5 * 1024 * 1024);
    assert.equal(r.contentMd5, createHash('md5').update(slice).digest('base64'), `part ${r.partNumber} Content-MD5`);
  }
  assert.ok(s3.requests.some((r) => r.bucket === 'good' && r.checksumHeaders.length === 0 && r.contentMd5), 'WHEN_REQUIRED sends Content-MD5 only');
});

test('a role is assumed with its external id, and its temporary credentials sign the uploads', async () => {
  s3.addAccessKey('ASIATEMPROLE0001', 'temporary-secret');
  const calls: URLSearchParams[] = [];
  // A loopback STS (AssumeRole over the AWS query protocol), as MinIO and Ceph serve beside S3.
  const sts = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      calls.push(form);
      if (form.get('ExternalId') !== 'tenant-42') {
        res.writeHead(403, { 'content-type': 'text/xml' });
        res.end('<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is not authorized to perform: sts:AssumeRole</Message></Error><RequestId>r</RequestId></ErrorResponse>');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIATEMPROLE0001</AccessKeyId>' +
          '<SecretAccessKey>temporary-secret</SecretAccessKey><SessionToken>session-token</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>' +
          '<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/upload/bucketcast</Arn><AssumedRoleId>AROA:bucketcast</AssumedRoleId></AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>',
      );
    });
  });
  await new Promise<void>((r) => sts.listen(0, '127.0.0.1', r));
  const stsEndpoint = `http://127.0.0.1:${(sts.address() as AddressInfo).port}`;
  const role = (externalId: string) => ({ credentials: { source: 'stored', credentialId: goodCred, roleArn: 'arn:aws:iam::123456789012:role/upload', externalId, stsEndpoint } });
  try {
    h.apps.put(app('role', role('wrong-tenant')));
    const rec = await expectFailure('role', 'role_denied', /assuming role arn:aws:iam::123456789012:role\/upload failed .*trust policy, s3\.credentials\.externalId/);
    h.apps.put(app('role', role('tenant-42')));
    await expectUploaded(rec, 'good');
    const ok = calls[calls.length - 1];
    assert.equal(ok.get('Action'), 'AssumeRole');
    assert.equal(ok.get('RoleArn'), 'arn:aws:iam::123456789012:role/upload');
    assert.equal(ok.get('RoleSessionName'), 'bucketcast');
    const key = (await filesOf(rec.completed.recordingId)).find((f) => f.kind === 'mp4')!.key!;
    const writes = s3.requests.filter((r) => r.key === key && r.method === 'PUT');
    assert.ok(writes.length > 0 && writes.every((r) => r.accessKeyId === 'ASIATEMPROLE0001' && r.sessionToken), 'signed with the role\'s temporary credentials');
  } finally {
    sts.close();
  }
});
