/**
 * The shared storage suite: the same tests against every S3 server
 * (test/storage/storage-suite-s3rver.test.ts, test/storage/storage-suite-radosgw.test.ts).
 * The storage module runs in the test process with a real SQLite store;
 * recordings are planted on disk and announced as the recording manager does.
 *
 * - a 12 MB recording in 5 MiB parts with the default checksum setting;
 *   the other setting (CRC32 headers, never aws-chunked trailers);
 * - Twilio's write-only policy: nothing sent at start-up, nothing listed,
 *   uploads confirmed from their own answer, local copies deleted; an answer
 *   that does not match is not trusted, one that confirms nothing keeps the
 *   file; a part refused in transit goes again in the same upload (resumed
 *   from the recorded parts), the acknowledged ones do not;
 * - Genesys's policy: everything works, verified by HEAD;
 * - the permission report of validation under full access, Genesys, Twilio;
 * - SSE: which requests carry which headers; KMS working and KMS denied.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type { AppSettings } from '../../src/config/schema.js';
import { openSqliteStore } from '../../src/db/sqlite/index.js';
import { crc32Base64 } from '../../src/storage/targets/confirm.js';
import type { Sidecar } from '../../src/storage/uploads/sidecar.js';
import { GRANTS } from './s3-policy.js';
import type { S3Keys, SeenRequest, SharedS3Target } from './s3.js';
import { until } from './server.js';
import { appOf, plantRecording, removeDir, startStorage, waitForUploaded, type PlantedRecording, type StorageHarness } from './storage.js';

const MiB = 1024 * 1024;
const PART = 5 * MiB;
const FULL = 'suite-full';
const TWILIO = 'suite-twilio';
const GENESYS = 'suite-genesys';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const md5 = (b: Buffer) => createHash('md5').update(b).digest('base64');

/** Registers the suite's tests against the target `start` gives. */
export function storageSuite(start: () => Promise<SharedS3Target>): void {
  let s3: SharedS3Target;
  let h: StorageHarness;
  const keys: Record<'twilio' | 'genesys', S3Keys> = {} as never;
  const creds: Record<'full' | 'twilio' | 'genesys', string> = {} as never;

  before(async () => {
    s3 = await start();
    for (const b of [FULL, TWILIO, GENESYS]) await s3.createBucket(b);
    keys.twilio = await s3.grant(TWILIO, GRANTS.twilio);
    keys.genesys = await s3.grant(GENESYS, GRANTS.genesys);
    h = await startStorage([appOf({ name: 'setup', s3RecordingEnabled: false })]);
    const store = async (k: S3Keys, friendlyName: string) => (await h.store.credentials.create({ credentials: `${k.accessKeyId}:${k.secretAccessKey}`, friendlyName })).id;
    creds.full = await store(s3.credentials, 'owner');
    creds.twilio = await store(keys.twilio, 'twilio write-only');
    creds.genesys = await store(keys.genesys, 'genesys');
  });

  after(async () => {
    await h?.stop();
    const logged = h?.logLines.join('\n') ?? '';
    for (const k of Object.values(keys)) assert.ok(!logged.includes(k.secretAccessKey), 'no secret in any log line');
    if (h) removeDir(h.dataDir);
    await s3?.cleanup();
  });

  /** An app pointing at a bucket of the target with a stored credential. */
  const app = (name: string, bucket: string, credentialId: string, extra: Record<string, unknown> = {}): AppSettings =>
    appOf({ name, s3: { bucket, endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { source: 'stored', credentialId }, partSizeMiB: 5, ...extra } });

  const filesOf = async (harness: StorageHarness, recordingId: string) => (await harness.store.catalog.getRecording(recordingId))!.files;

  /** Announces a planted recording and waits until all its files are uploaded. */
  async function uploaded(harness: StorageHarness, appName: string, mp4Bytes: number): Promise<PlantedRecording> {
    const rec = plantRecording(harness.dataDir, appName, { mp4Bytes });
    assert.equal(await harness.events.emit('recording.completed', rec.completed), true);
    await waitForUploaded(harness, rec);
    return rec;
  }

  /** Every file uploaded, byte for byte as the owner reads it, local copies deleted; returns the catalog's files. */
  async function expectInBucket(harness: StorageHarness, rec: PlantedRecording, bucket: string, verifiedBy: 'head' | 'upload-response') {
    const files = await filesOf(harness, rec.completed.recordingId);
    assert.ok(files.every((f) => f.state === 'uploaded'), files.map((f) => `${f.name}=${f.state}`).join(', '));
    assert.deepEqual(files.map((f) => `${f.name}:${f.verifiedBy}`), files.map((f) => `${f.name}:${verifiedBy}`));
    for (const [name, bytes] of rec.contents) {
      const f = files.find((x) => x.name === name)!;
      assert.equal(f.bucket, bucket);
      assert.ok((await s3.getObject(bucket, f.key!)).equals(bytes), `${name} is byte-identical in the bucket`);
      assert.equal(f.sha256, sha256(bytes));
      // One PUT carries its SHA-256; a multipart object's is in the catalog and the sidecar (known only once every part was read).
      assert.equal((await s3.headObject(bucket, f.key!)).metadata.sha256, bytes.length > PART ? undefined : sha256(bytes), 'x-amz-meta-sha256');
      assert.ok(!existsSync(f.localPath!), `primary mode: local ${name} deleted`);
    }
    const sidecar = files.find((f) => f.kind === 'metadata')!;
    const doc = JSON.parse((await s3.getObject(bucket, sidecar.key!)).toString('utf8')) as Sidecar;
    assert.deepEqual(doc.objects.map((o) => o.key).sort(), files.filter((f) => f.kind !== 'metadata').map((f) => f.key!).sort(), 'the sidecar lists every object');
    for (const f of files) assert.equal(s3.writes(bucket).get(f.key!), 1, `${f.key} written once`);
    assert.deepEqual(await s3.listMultipartUploads(bucket, files[0].key!.split('/')[0]), [], 'no multipart upload left');
    return files;
  }

  /** The 'upload completed' log lines of a recording. */
  const completedLines = (harness: StorageHarness, recordingId: string) =>
    harness.logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'upload completed' && l.recordingId === recordingId);

  /** Requests for one object. */
  const requestsFor = (bucket: string, key: string) => s3.requests.filter((r) => r.bucket === bucket && r.key === key);
  const isPart = (r: SeenRequest) => r.method === 'PUT' && r.partNumber !== undefined;
  const isCreate = (r: SeenRequest) => r.method === 'POST' && r.query.includes('uploads');
  const isComplete = (r: SeenRequest) => r.method === 'POST' && r.query.includes('uploadId');
  const isSinglePut = (r: SeenRequest) => r.method === 'PUT' && r.partNumber === undefined && !r.query.includes('uploadId');

  test('a 12 MB recording goes up in 5 MiB parts with the default checksum setting, verified by HEAD, nothing left behind', async () => {
    h.apps.put(app('big', FULL, creds.full, { prefix: 'big' }));
    const rec = await uploaded(h, 'big', 12_000_000);
    const files = await expectInBucket(h, rec, FULL, 'head');
    const mp4 = files.find((f) => f.kind === 'mp4')!;
    const data = rec.contents.get(mp4.name)!;
    const seen = requestsFor(FULL, mp4.key!);
    assert.equal(seen.filter(isCreate).length, 1);
    assert.equal(seen.filter(isComplete).length, 1);
    const parts = seen.filter(isPart).sort((a, b) => a.partNumber! - b.partNumber!);
    assert.deepEqual(parts.map((r) => r.partNumber), [1, 2, 3], '12 MB in three parts');
    for (const r of parts) {
      assert.equal(r.status, 200);
      assert.equal(r.contentMd5, md5(data.subarray((r.partNumber! - 1) * PART, r.partNumber! * PART)), `part ${r.partNumber} carries its Content-MD5`);
      assert.deepEqual(r.checksumHeaders, [], 'WHEN_REQUIRED: no flexible checksum, no aws-chunked trailer');
    }
    assert.ok(s3.requests.filter((r) => r.bucket === FULL && r.key?.startsWith('big/')).every((r) => r.checksumHeaders.length === 0));
    assert.equal(completedLines(h, rec.completed.recordingId).find((l) => l.kind === 'mp4')?.parts, 3);
  });

  test('checksumCalculation WHEN_SUPPORTED sends CRC32 headers on every part (never an aws-chunked trailer), and the server takes them', async () => {
    h.apps.put(app('crc', FULL, creds.full, { prefix: 'crc', checksumCalculation: 'WHEN_SUPPORTED' }));
    const rec = await uploaded(h, 'crc', 11_000_000);
    const files = await expectInBucket(h, rec, FULL, 'head');
    const mp4 = files.find((f) => f.kind === 'mp4')!;
    const data = rec.contents.get(mp4.name)!;
    const seen = requestsFor(FULL, mp4.key!);
    assert.equal(seen.find(isCreate)?.amz['x-amz-checksum-algorithm'], 'CRC32');
    const parts = seen.filter(isPart);
    assert.equal(parts.length, 3);
    for (const r of parts) {
      const slice = data.subarray((r.partNumber! - 1) * PART, r.partNumber! * PART);
      assert.equal(r.amz['x-amz-checksum-crc32'], crc32Base64(crc32(slice)), `part ${r.partNumber}: the CRC32 of its bytes, as a header`);
      assert.equal(r.contentMd5, md5(slice), 'and its Content-MD5');
    }
    for (const r of s3.requests.filter((x) => x.bucket === FULL && x.key?.startsWith('crc/') && (isPart(x) || isSinglePut(x)))) {
      assert.ok(!r.checksumHeaders.includes('content-encoding') && !r.checksumHeaders.includes('x-amz-trailer'), `${r.key}: no aws-chunked body`);
      assert.ok(r.amz['x-amz-checksum-crc32'], `${r.key}: a CRC32 header`);
    }
  });

  test("Twilio's write-only policy: nothing sent at start-up, nothing listed, uploads confirmed from their answer, local copies deleted", async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-twilio-'));
    const store = openSqliteStore({ dataDir });
    const credentialId = (await store.credentials.create({ credentials: `${keys.twilio.accessKeyId}:${keys.twilio.secretAccessKey}` })).id;
    await store.close();
    const writer = () => s3.requests.filter((r) => r.accessKeyId === keys.twilio.accessKeyId);
    const before = writer().length;
    const w = await startStorage([app('twilio', TWILIO, credentialId)], { dataDir });
    try {
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(writer().length, before, 'nothing is sent to the bucket at start-up');
      const rec = await uploaded(w, 'twilio', 11_000_000);
      const files = await expectInBucket(w, rec, TWILIO, 'upload-response');
      const mine = writer().slice(before);
      assert.ok(mine.length > 0);
      const kinds = new Set(mine.map((r) => (isPart(r) ? 'UploadPart' : isCreate(r) ? 'CreateMultipartUpload' : isComplete(r) ? 'CompleteMultipartUpload' : isSinglePut(r) ? 'PutObject' : `${r.method} ${r.query.join('&')}`)));
      assert.deepEqual([...kinds].sort(), ['CompleteMultipartUpload', 'CreateMultipartUpload', 'HEAD ', 'PutObject', 'UploadPart'], 'only writes, and the HEADs that are denied');
      assert.ok(mine.filter((r) => r.method === 'HEAD').every((r) => r.status === 403), 'HEAD is denied');
      assert.ok(mine.every((r) => r.key && /^(streams|previews)\//.test(r.key)), 'every key under the allowed prefixes (the sidecar too)');
      assert.match(files.find((f) => f.kind === 'metadata')!.key!, /^streams\/.*\.json$/);
      const lines = completedLines(w, rec.completed.recordingId);
      assert.equal(lines.length, files.length);
      for (const l of lines) assert.ok(l.kind === 'mp4' ? ['etag', 'part-etags'].includes(String(l.confirmedBy)) : l.confirmedBy === 'etag', `${l.kind} confirmed by ${l.confirmedBy}`);
    } finally {
      await w.stop();
      removeDir(dataDir);
    }
  });

  test('write-only: an answer that does not match is not trusted (uploaded again), one that confirms nothing keeps the file', async () => {
    h.apps.put(app('tampered', TWILIO, creds.twilio));
    const rec = plantRecording(h.dataDir, 'tampered', { mp4Bytes: 11_000_000 });
    const n = rec.completed.name;
    const [mp4Key, posterKey, segKey] = [`streams/${n}.mp4`, `previews/${n}.jpg`, `streams/${n}_00000.ts`];
    s3.inject({ match: (r) => r.key === mp4Key && isComplete(r), etag: `${'f'.repeat(32)}-3` });
    s3.inject({ match: (r) => r.key === posterKey && isSinglePut(r), etag: 'e'.repeat(32) });
    s3.inject({ match: (r) => r.key === segKey && isSinglePut(r), etag: '', times: 1000 });
    const keptAtFailure = new Map<string, boolean>();
    const off = h.events.on('upload.failed', (e) => {
      if (e.recordingId === rec.completed.recordingId) keptAtFailure.set(e.name, existsSync(rec.completed.files.find((f) => f.name === e.name)!.path));
    });
    try {
      await h.events.emit('recording.completed', rec.completed);
      const done = (name: string) => h.waitFor('upload.completed', (e) => e.recordingId === rec.completed.recordingId && e.name === name, 60_000);
      await Promise.all([done(`${n}.mp4`), done(`${n}.jpg`)]);
      const unconfirmed = await h.waitFor('upload.failed', (e) => e.name === `${n}_00000.ts` && e.errorClass === 'permanent', 60_000);
      assert.equal(unconfirmed.code, 'unconfirmed');
      assert.match(unconfirmed.message, /cannot be confirmed: HEAD is denied and the service returned no ETag or checksum that can be compared .*the local copy is kept/);

      const failures = h.emitted.filter((e) => e.name === 'upload.failed').map((e) => e.payload as { recordingId: string; name: string; code: string; errorClass: string; message: string }).filter((e) => e.recordingId === rec.completed.recordingId);
      const mp4Failure = failures.find((e) => e.name === `${n}.mp4`)!;
      assert.equal(mp4Failure.code, 'integrity_mismatch');
      assert.equal(mp4Failure.errorClass, 'retryable');
      assert.match(mp4Failure.message, /does not match the file: the ETag f{32}-3 is not the one computed from the part MD5s/);
      assert.match(failures.find((e) => e.name === `${n}.jpg`)!.message, /the ETag e{32} is not the file's MD5/);
      assert.deepEqual([...keptAtFailure.values()], [true, true, true], 'every local copy was there when its upload failed');
      assert.equal(s3.writes(TWILIO).get(mp4Key), 2, 'uploaded again after the mismatch');
      assert.equal(s3.writes(TWILIO).get(posterKey), 2);
      const files = await filesOf(h, rec.completed.recordingId);
      const seg = files.find((f) => f.name === `${n}_00000.ts`)!;
      assert.equal(seg.state, 'failed');
      assert.ok(existsSync(seg.localPath!), 'the unconfirmed file stays on disk');
      for (const name of [`${n}.mp4`, `${n}.jpg`]) {
        const f = files.find((x) => x.name === name)!;
        assert.equal(f.state, 'uploaded');
        assert.equal(f.verifiedBy, 'upload-response');
        assert.ok(!existsSync(f.localPath!), `${name} deleted once confirmed`);
        assert.ok((await s3.getObject(TWILIO, f.key!)).equals(rec.contents.get(name)!));
      }
    } finally {
      off();
    }
  });

  test('write-only: a part refused in transit is sent again in the same multipart upload, the acknowledged parts are not (no ListParts, no abort)', async () => {
    h.apps.put(app('aborts', TWILIO, creds.twilio));
    const rec = plantRecording(h.dataDir, 'aborts', { mp4Bytes: 11_000_000 });
    const mp4Key = `streams/${rec.completed.name}.mp4`;
    s3.inject({ match: (r) => r.key === mp4Key && r.partNumber === 2, error: { status: 400, code: 'BadDigest', message: 'The Content-MD5 you specified did not match what we received.' } });
    await h.events.emit('recording.completed', rec.completed);
    await h.waitFor('upload.completed', (e) => e.recordingId === rec.completed.recordingId && e.kind === 'metadata', 90_000);
    const failed = await h.waitFor('upload.failed', (e) => e.recordingId === rec.completed.recordingId);
    assert.equal(failed.code, 'corrupted_in_transit');
    assert.equal(failed.errorClass, 'retryable');
    const lines = h.logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.recordingId === rec.completed.recordingId);
    const resumed = lines.find((l) => l.msg === 'resuming a multipart upload');
    assert.ok(resumed, 'the next attempt resumed the upload');
    const uploadId = String(resumed.uploadId);
    assert.equal(lines.filter((l) => l.msg === 'multipart upload started').length, 1, 'one multipart upload for the file');
    const puts = (n: number) => s3.requests.filter((r) => r.method === 'PUT' && r.uploadId === uploadId && r.partNumber === n).map((r) => r.status);
    assert.deepEqual(puts(1), [200], 'part 1 went once');
    assert.deepEqual(puts(3), [200], 'part 3 went once');
    assert.deepEqual(puts(2), [400, 200], 'part 2 again after it was refused');
    assert.ok(!s3.requests.some((r) => r.method === 'DELETE' && r.uploadId === uploadId), 'nothing aborted');
    await expectInBucket(h, rec, TWILIO, 'upload-response');
  });

  test("Genesys's policy: every upload verified by HEAD, local copies deleted", async () => {
    h.apps.put(app('genesys', GENESYS, creds.genesys));
    const rec = await uploaded(h, 'genesys', 6_000_000);
    await expectInBucket(h, rec, GENESYS, 'head');
  });

  test('validation reports the permissions under full access, Genesys and Twilio policies, and what each missing one costs', async () => {
    const validate = async (name: string, bucket: string, credentialId: string) => {
      h.apps.put(app(name, bucket, credentialId));
      return (await h.service.validate(name))!;
    };
    const statuses = (r: { steps: Array<{ step: string; status: string }> }) => r.steps.map((s) => `${s.step}:${s.status}`).join(' ');
    const perms = (r: { permissions: Array<{ permission: string; status: string }> }) => Object.fromEntries(r.permissions.map((p) => [p.permission, p.status]));

    const full = await validate('v-full', FULL, creds.full);
    assert.equal(statuses(full), 'bucket name:ok credentials:ok write:ok multipart:ok head:ok read:ok list:ok abort multipart:ok delete:ok');
    assert.deepEqual(perms(full), { put: 'allowed', head: 'allowed', get: 'allowed', list: 'allowed', delete: 'allowed', 'abort-multipart': 'allowed' });
    assert.equal(full.ok, true);
    assert.deepEqual(full.warnings, []);
    assert.deepEqual((await s3.listObjects(FULL, full.key)).length, 0, 'the test object is gone');

    const genesys = await validate('v-genesys', GENESYS, creds.genesys);
    assert.equal(statuses(genesys), 'bucket name:ok credentials:ok write:ok multipart:ok head:ok read:ok list:ok abort multipart:denied delete:ok');
    assert.deepEqual(perms(genesys), { put: 'allowed', head: 'allowed', get: 'allowed', list: 'allowed', delete: 'allowed', 'abort-multipart': 'denied' });
    assert.equal(genesys.ok, true);
    assert.deepEqual(genesys.warnings, [
      'no AbortMultipartUpload: parts of an interrupted upload stay in the bucket (and are billed) until a lifecycle rule removes them — add AbortIncompleteMultipartUpload to the bucket lifecycle',
    ]);
    assert.match(genesys.summary, /^bucketcast can upload here; missing: abort-multipart/);
    assert.deepEqual((await s3.listObjects(GENESYS, genesys.key)).length, 0);

    const twilio = await validate('v-twilio', TWILIO, creds.twilio);
    assert.equal(statuses(twilio), 'bucket name:ok credentials:ok write:ok multipart:ok head:denied read:denied list:denied abort multipart:denied delete:denied');
    assert.deepEqual(perms(twilio), { put: 'allowed', head: 'denied', get: 'denied', list: 'denied', delete: 'denied', 'abort-multipart': 'denied' });
    assert.equal(twilio.ok, true, 'uploads work with PutObject alone');
    const costs = Object.fromEntries(twilio.permissions.map((p) => [p.permission, p.cost]));
    assert.equal(costs.get, 'no GetObject: presigned and proxy playback cannot work; use redirect with a public bucket or CDN');
    assert.match(costs.head!, /^no HeadObject \(s3:GetObject\): uploads are confirmed from the upload's own answer/);
    assert.match(costs.list!, /^no ListBucket: S3 answers 403 instead of 404/);
    assert.equal(costs.delete, `no DeleteObject: deleting a recording from the panel leaves its objects in the bucket (use a lifecycle expiration rule); this check's test object stays at s3://${TWILIO}/${twilio.key}`);
    assert.match(costs['abort-multipart']!, /add AbortIncompleteMultipartUpload to the bucket lifecycle$/);
    assert.equal(costs.put, undefined);
    assert.equal(twilio.warnings.length, 5);
    assert.match(twilio.summary, /^bucketcast can upload here; missing: head, get, list, delete, abort-multipart/);
    assert.deepEqual((await s3.listObjects(TWILIO, twilio.key)).map((o) => o.key), [twilio.key], 'the test object stays: delete is denied');
    assert.deepEqual(await s3.listMultipartUploads(TWILIO, twilio.key), [], 'the abort probe left no upload behind');

    const outside = await validate('v-outside', TWILIO, creds.twilio);
    h.apps.put(app('v-outside', TWILIO, creds.twilio, { prefix: 'elsewhere' }));
    const refused = (await h.service.validate('v-outside'))!;
    assert.equal(outside.ok, true);
    assert.equal(refused.ok, false, 'outside the allowed prefixes nothing can be uploaded');
    assert.equal(statuses(refused), 'bucket name:ok credentials:ok write:failed multipart:skipped head:skipped read:skipped list:skipped abort multipart:skipped delete:skipped');
    assert.equal(refused.steps[2].code, 'access_denied');
    assert.equal(perms(refused).put, 'denied');
    assert.match(refused.permissions[0].cost!, /^no PutObject: nothing can be uploaded/);
    assert.match(refused.summary, /cannot upload/);
  });

  test('SSE: AES256 and aws:kms go on PutObject and CreateMultipartUpload only; a KMS key that cannot be used is a permanent failure', async () => {
    h.apps.put(app('aes', FULL, creds.full, { prefix: 'aes', sse: { mode: 'AES256' } }));
    h.apps.put(app('kms', FULL, creds.full, { prefix: 'kms', sse: { mode: 'aws:kms', kmsKeyId: s3.kmsKeyArn } }));
    h.apps.put(app('kms-writer', TWILIO, creds.twilio, { sse: { mode: 'aws:kms', kmsKeyId: s3.kmsKeyArn } }));
    const [aes, kms, kmsWriter] = await Promise.all([uploaded(h, 'aes', 11_000_000), uploaded(h, 'kms', 11_000_000), uploaded(h, 'kms-writer', 6_000_000)]);
    const expected = { aes: { 'x-amz-server-side-encryption': 'AES256' }, kms: { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': s3.kmsKeyArn } };
    for (const [rec, bucket, headers, verifiedBy] of [
      [aes, FULL, expected.aes, 'head'],
      [kms, FULL, expected.kms, 'head'],
      [kmsWriter, TWILIO, expected.kms, 'upload-response'],
    ] as const) {
      const files = await expectInBucket(h, rec, bucket, verifiedBy);
      for (const f of files) {
        for (const r of requestsFor(bucket, f.key!)) {
          const sse = Object.fromEntries(Object.entries(r.amz).filter(([k]) => k.startsWith('x-amz-server-side-encryption')));
          if (isCreate(r) || isSinglePut(r)) assert.deepEqual(sse, headers, `${f.name}: ${r.method} ${r.query.join('&')} carries the SSE headers`);
          else assert.deepEqual(sse, {}, `${f.name}: ${r.method} ${r.query.join('&')} carries none (S3 takes them from CreateMultipartUpload)`);
        }
      }
      assert.ok(files.some((f) => requestsFor(bucket, f.key!).some(isPart)), 'a multipart upload among them');
    }
    // Write-only with SSE-KMS: ETags are not MD5s; the Content-MD5 S3 checked on every part confirms the upload.
    assert.ok(completedLines(h, kmsWriter.completed.recordingId).every((l) => l.confirmedBy === 'content-md5'));
    if (s3.reportsKms) {
      const mp4 = (await filesOf(h, kms.completed.recordingId)).find((f) => f.kind === 'mp4')!;
      const head = await s3.headObject(FULL, mp4.key!);
      assert.equal(head.sse, 'aws:kms');
      assert.equal(head.kmsKeyId, s3.kmsKeyArn);
    }

    const foreignKey = 'arn:aws:kms:us-east-1:123456789012:key/not-for-bucketcast';
    h.apps.put(app('kms-denied', FULL, creds.full, { prefix: 'kms-denied', sse: { mode: 'aws:kms', kmsKeyId: foreignKey } }));
    const rec = plantRecording(h.dataDir, 'kms-denied', { mp4Bytes: 6_000_000 });
    await h.events.emit('recording.completed', rec.completed);
    const failed = await h.waitFor('upload.failed', (e) => e.recordingId === rec.completed.recordingId);
    assert.equal(failed.errorClass, 'permanent');
    assert.equal(failed.code, 'kms_denied');
    assert.match(failed.message, /^the KMS key "arn:aws:kms:us-east-1:123456789012:key\/not-for-bucketcast" cannot be used \(.+\): allow kms:GenerateDataKey and kms:Decrypt on it for these credentials/);
    const files = await until(async () => {
      const all = await filesOf(h, rec.completed.recordingId);
      return all.every((f) => f.state === 'failed') ? all : undefined;
    }, 30_000, 'every file failed');
    assert.ok(files.every((f) => f.errorCode === 'kms_denied'));
    for (const f of rec.completed.files) assert.ok(existsSync(f.path), `${f.name} kept`);
    assert.deepEqual(await s3.listObjects(FULL, 'kms-denied/'), []);
  });
}
