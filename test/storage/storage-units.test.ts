/**
 * The pure parts of storage: part sizes within S3's limits, hashes
 * and predicted ETags, key templates, object URLs, backoff, the storage
 * settings schema and environment variables, and the classification of
 * errors as S3 sends them (status, headers and XML replayed from a loopback
 * HTTP server through the real SDK, for answers s3rver cannot give:
 * PermanentRedirect, HEAD 301, KMS, ACLs disabled, throttling, 5xx).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { MiB, MAX_PARTS, MIN_PART_SIZE, digestBuffer, expectedEtag, partCount, partSizeFor, type FileDigest } from '../../src/storage/targets/integrity.js';
import { PartReader } from '../../src/storage/targets/part-reader.js';
import { objectUrl, renderKey } from '../../src/storage/targets/keys.js';
import { classifyS3Error, type ErrorContext } from '../../src/storage/targets/errors.js';
import { backoffMs } from '../../src/queue/backoff.js';
import { keyTemplateProblem } from '../../src/config/storage-schema.js';
import { loadConfig } from '../../src/config/load.js';

test('part sizes keep a file under 10,000 parts, every part but the last at least 5 MiB', () => {
  assert.equal(partSizeFor(1000, 1 * MiB), MIN_PART_SIZE, 'never below 5 MiB');
  assert.equal(partSizeFor(100 * MiB, 8 * MiB), 8 * MiB, 'the preferred size when it fits');
  for (const size of [80_000 * MiB, 100 * 1024 * MiB, 5 * 1024 * 1024 * MiB]) {
    const part = partSizeFor(size, 8 * MiB);
    assert.ok(Math.ceil(size / part) <= MAX_PARTS, `${size} bytes in ${Math.ceil(size / part)} parts`);
    assert.equal(part % MiB, 0, 'whole MiB');
    assert.ok(part >= MIN_PART_SIZE);
  }
  assert.throws(() => partSizeFor(60 * 1024 * 1024 * MiB, 8 * MiB), /larger than S3 accepts/);
  // A file of exactly one part size goes in a single PUT.
  assert.equal(partCount(5 * MiB, 5 * MiB), 1);
  assert.equal(partCount(5 * MiB + 1, 5 * MiB), 2);
  assert.equal(partCount(0, 5 * MiB), 1);
});

/** A file's digest as the uploader builds it: every part read and hashed in the reader thread, in order. */
async function readerDigest(reader: PartReader, file: string, partSize: number): Promise<FileDigest & { crcs: number[]; lengths: number[] }> {
  const f = await reader.open(file, { crc: true });
  const n = partCount(f.size, partSize);
  const partMd5s: Buffer[] = [];
  const crcs: number[] = [];
  const lengths: number[] = [];
  for (let i = 0; i < n; i++) {
    const len = i === n - 1 ? f.size - i * partSize : partSize;
    const p = await f.part(i * partSize, len, true);
    partMd5s.push(Buffer.from(p.md5, 'base64'));
    crcs.push(p.crc32!);
    lengths.push(p.data!.length);
  }
  const w = await f.finish();
  return { size: w.size, sha256: w.sha256, crc32: w.crc32, partSize, partMd5s, ...(n === 1 && { md5: partMd5s[0] }), crcs, lengths };
}

test('the reader thread hashes as buffers hash (one read), and the multipart ETag is predicted as S3 computes it', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bc-hash-'));
  const reader = new PartReader();
  try {
    const data = randomBytes(11 * MiB + 123);
    const file = path.join(dir, 'f');
    writeFileSync(file, data);
    const { crcs, lengths, ...d } = await readerDigest(reader, file, 5 * MiB);
    const { md5: _whole, ...fromBuffer } = digestBuffer(data, 5 * MiB);
    assert.deepEqual(d, fromBuffer);
    assert.deepEqual(lengths, [5 * MiB, 5 * MiB, MiB + 123]);
    assert.equal(crcs[2], crc32(data.subarray(10 * MiB)), 'each part\'s CRC32 (flexible checksums)');
    assert.equal(d.sha256, createHash('sha256').update(data).digest('hex'));
    const md5 = (b: Buffer) => createHash('md5').update(b).digest();
    const parts = [data.subarray(0, 5 * MiB), data.subarray(5 * MiB, 10 * MiB), data.subarray(10 * MiB)].map(md5);
    assert.deepEqual(d.partMd5s, parts);
    assert.equal(expectedEtag(d), `${md5(Buffer.concat(parts)).toString('hex')}-3`);
    assert.equal(d.crc32, crc32(data));
    const exact = digestBuffer(data.subarray(0, 5 * MiB), 5 * MiB);
    assert.equal(expectedEtag(exact), md5(data.subarray(0, 5 * MiB)).toString('hex'), 'one part: the plain MD5');
    writeFileSync(file, data.subarray(0, 5 * MiB));
    const { crcs: _c, lengths: _l, ...one } = await readerDigest(reader, file, 5 * MiB);
    assert.deepEqual(one, exact, 'a file of exactly one part is one PUT');
    writeFileSync(file, '');
    assert.equal(expectedEtag(await readerDigest(reader, file, 5 * MiB)), 'd41d8cd98f00b204e9800998ecf8427e');
    // Out of order, a vanished file, a file that shrank: clear errors, and the reader goes on working.
    const f = await reader.open(file);
    await assert.rejects(f.part(5, 1, true), (e: { code?: string }) => e.code === 'EORDER');
    f.drop();
    await assert.rejects(reader.open(path.join(dir, 'gone')), (e: { code?: string }) => e.code === 'ENOENT');
    writeFileSync(file, data.subarray(0, 100));
    const short = await reader.open(file);
    await assert.rejects(short.part(0, 200, true), (e: { code?: string }) => e.code === 'ESHORT');
    short.drop();
    assert.equal((await readerDigest(reader, file, 5 * MiB)).size, 100);
  } finally {
    await reader.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('key templates: defaults mirror the URLs; date tokens come from the recording start (UTC)', () => {
  const facts = { app: 'live', streamId: 'cam1', recordingId: 'r-1', startedAt: '2026-11-22T23:59:58.000Z', fileName: 'cam1_20261122T235958Z_00003.ts' };
  assert.equal(renderKey('', 'streams/{name}.{ext}', facts), 'streams/cam1_20261122T235958Z_00003.ts');
  assert.equal(renderKey('/base/', 'streams/{name}.{ext}', facts), 'base/streams/cam1_20261122T235958Z_00003.ts');
  assert.equal(renderKey('a//b', '{app}/{yyyy}/{mm}/{dd}/{HH}/{streamId}/{recordingId}/{name}.{ext}', facts), 'a/b/live/2026/11/22/23/cam1/r-1/cam1_20261122T235958Z_00003.ts');
  assert.equal(keyTemplateProblem('streams/{yyyy}/{name}.{ext}'), null);
  assert.match(keyTemplateProblem('streams/{date}/{name}.{ext}')!, /unknown token \{date\}/);
  assert.match(keyTemplateProblem('streams/{name}-{yyyy}.{ext}')!, /must end with "\{name\}\.\{ext\}"/);
  assert.match(keyTemplateProblem('../{name}.{ext}')!, /"\.\."/);
  assert.match(keyTemplateProblem('/streams/{name}.{ext}')!, /must not start with/);
});

test('object URLs: AWS virtual-hosted, custom endpoint path-style or virtual-hosted', () => {
  assert.equal(objectUrl({ region: 'eu-west-1', forcePathStyle: false, bucket: 'b' }, 'streams/a b.mp4'), 'https://b.s3.eu-west-1.amazonaws.com/streams/a%20b.mp4');
  assert.equal(objectUrl({ endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', forcePathStyle: true, bucket: 'b' }, 'x/y.ts'), 'http://127.0.0.1:9000/b/x/y.ts');
  assert.equal(objectUrl({ endpoint: 'https://s3.example.com', region: 'us-east-1', forcePathStyle: false, bucket: 'b' }, 'k'), 'https://b.s3.example.com/k');
});

test('backoff doubles per attempt with jitter and stays under its cap', () => {
  for (let attempt = 1; attempt <= 40; attempt++) {
    const full = Math.min(60_000, 1000 * 2 ** (attempt - 1));
    for (let i = 0; i < 20; i++) {
      const d = backoffMs(attempt, 60_000);
      assert.ok(d >= full / 2 - 1 && d <= full + 1, `attempt ${attempt}: ${d}`);
    }
  }
});

test('storage settings: defaults, the BUCKETCAST_S3_* variables, and bad values named', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bc-cfg-'));
  const file = (content: unknown) => {
    const f = path.join(dir, `${randomBytes(4).toString('hex')}.json`);
    writeFileSync(f, JSON.stringify(content));
    return f;
  };
  try {
    const { config } = loadConfig({ BUCKETCAST_CONFIG: file({}) });
    const live = config.applications[0];
    assert.equal(live.s3RecordingEnabled, true);
    assert.equal(live.s3.bucket, undefined, 'the local store by default');
    assert.equal(live.s3.storageMode, 'primary');
    assert.deepEqual({ ...live.s3.keyTemplates }, { streams: 'streams/{name}.{ext}', previews: 'previews/{name}.{ext}' });
    assert.deepEqual({ ...live.s3.upload }, { mp4: true, hls: true, previews: true, metadata: true });
    assert.equal(live.s3.acl, undefined, 'no ACL unless asked');
    assert.equal(live.s3.checksumCalculation, 'WHEN_REQUIRED');

    const env = loadConfig({
      BUCKETCAST_CONFIG: file({ applications: [{ name: 'first', s3: { prefix: 'p' } }, { name: 'second' }] }),
      BUCKETCAST_S3_ENDPOINT: 'http://minio.local:9000',
      BUCKETCAST_S3_REGION: 'eu-central-1',
      BUCKETCAST_S3_BUCKET: 'my-recordings',
      BUCKETCAST_S3_FORCE_PATH_STYLE: 'true',
    }).config;
    assert.equal(env.applications[0].s3.bucket, 'my-recordings');
    assert.equal(env.applications[0].s3.endpoint, 'http://minio.local:9000');
    assert.equal(env.applications[0].s3.region, 'eu-central-1');
    assert.equal(env.applications[0].s3.forcePathStyle, true);
    assert.equal(env.applications[0].s3.prefix, 'p', 'the file keeps its other keys');
    assert.equal(env.applications[1].s3.bucket, undefined, 'only the default app');
    // The embedded S3 server is gone: its port setting is a clear error, from the file or the environment.
    assert.throws(() => loadConfig({ BUCKETCAST_CONFIG: file({ storage: { embeddedS3Port: 4568 } }) }), /storage\.embeddedS3Port: removed: no S3 server is embedded any more/);
    assert.throws(() => loadConfig({ BUCKETCAST_EMBEDDED_S3_PORT: '4568' }), /storage\.embeddedS3Port: removed/);

    const bad = (s3: unknown, re: RegExp) => assert.throws(() => loadConfig({ BUCKETCAST_CONFIG: file({ applications: [{ name: 'live', s3 }] }) }), re);
    bad({ bucket: 'enregistrements-été' }, /applications\[0\]\.s3\.bucket: must be 7-bit ASCII/);
    bad({ bucket: 'b', keyTemplates: { streams: '{day}/{name}.{ext}' } }, /applications\[0\]\.s3\.keyTemplates\.streams: unknown token \{day\}/);
    bad({ bucket: 'bkt', credentials: { source: 'stored' } }, /applications\[0\]\.s3\.credentials\.credentialId: required when source is "stored"/);
    bad({ endpoint: 'http://x:9000' }, /applications\[0\]\.s3\.bucket: required when s3\.endpoint is set/);
    bad({ bucket: 'bkt', sse: { mode: 'AES256', kmsKeyId: 'k' } }, /s3\.sse\.kmsKeyId: kmsKeyId is only used with mode "aws:kms"/);
    bad({ bucket: 'bkt', acl: 'everyone' }, /applications\[0\]\.s3\.acl/);
    bad({ bucket: 'bkt', partSizeMiB: 4 }, /applications\[0\]\.s3\.partSizeMiB/);
    bad({ bucket: 'bkt', buckett: 'x' }, /applications\[0\]\.s3\.buckett: unknown key/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// --- error classification, with S3's answers replayed through the SDK ---

interface Canned {
  status: number;
  headers?: Record<string, string>;
  code?: string;
  message?: string;
  extra?: string;
}

/** What S3 answers, by bucket name (status, headers and the error XML S3 sends). */
const ANSWERS: Record<string, Canned> = {
  'moved-bucket': { status: 301, headers: { 'x-amz-bucket-region': 'eu-west-1' }, code: 'PermanentRedirect', message: 'The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.', extra: '<Endpoint>moved-bucket.s3.eu-west-1.amazonaws.com</Endpoint><Bucket>moved-bucket</Bucket>' },
  'moved-nohdr': { status: 301, code: 'PermanentRedirect', message: 'The bucket you are attempting to access must be addressed using the specified endpoint.', extra: '<Endpoint>moved-nohdr.s3-ap-southeast-2.amazonaws.com</Endpoint>' },
  'malformed-auth': { status: 400, code: 'AuthorizationHeaderMalformed', message: "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'sa-east-1'", extra: '<Region>sa-east-1</Region>' },
  'kms-denied': { status: 403, code: 'AccessDenied', message: 'User: arn:aws:iam::1:user/u is not authorized to perform: kms:GenerateDataKey on resource: arn:aws:kms:us-east-1:1:key/k' },
  'kms-disabled': { status: 400, code: 'KMS.DisabledException', message: 'arn:aws:kms:us-east-1:1:key/k is disabled.' },
  'no-acls': { status: 400, code: 'AccessControlListNotSupported', message: 'The bucket does not allow ACLs' },
  'slow-down': { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' },
  'internal': { status: 500, code: 'InternalError', message: 'We encountered an internal error. Please try again.' },
  'skewed': { status: 403, code: 'RequestTimeTooSkewed', message: 'The difference between the request time and the current time is too large.' },
  'denied': { status: 403, code: 'AccessDenied', message: 'Access Denied' },
  'bad-sig': { status: 403, code: 'SignatureDoesNotMatch', message: 'The request signature we calculated does not match the signature you provided.' },
  'bad-class': { status: 400, code: 'InvalidStorageClass', message: 'The storage class you specified is not valid' },
  'too-big': { status: 400, code: 'EntityTooLarge', message: 'Your proposed upload exceeds the maximum allowed size' },
};

let answers: Server;
let endpoint: string;
before(async () => {
  answers = createServer((req, res) => {
    req.resume();
    const bucket = decodeURIComponent((req.url ?? '/').split('/')[1].split('?')[0]);
    if (bucket === 'hangup') return void req.socket.destroy();
    const a = ANSWERS[bucket] ?? { status: 404, code: 'NoSuchBucket', message: 'The specified bucket does not exist' };
    const body = req.method === 'HEAD' ? '' : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${a.code}</Code><Message>${a.message}</Message>${a.extra ?? ''}<RequestId>R</RequestId></Error>`;
    res.writeHead(a.status, { 'content-type': 'application/xml', 'x-amz-request-id': 'R', ...a.headers });
    res.end(body);
  });
  await new Promise<void>((r) => answers.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(answers.address() as AddressInfo).port}`;
});
after(() => answers.close());

async function classified(bucket: string, op: 'put' | 'head' = 'put', ctx: Partial<ErrorContext> = {}) {
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'AKID', secretAccessKey: 'S' }, maxAttempts: 1 });
  try {
    await client.send(op === 'put' ? new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x' }) : new HeadObjectCommand({ Bucket: bucket, Key: 'k' }));
    assert.fail('the request should fail');
  } catch (err) {
    return classifyS3Error(err, { operation: op === 'put' ? 'upload' : 'head', bucket, region: 'us-east-1', key: 'k', ...ctx });
  } finally {
    client.destroy();
  }
}

test('wrong region, from every shape S3 gives it', async () => {
  const redirect = await classified('moved-bucket');
  assert.equal(redirect.code, 'wrong_region');
  assert.equal(redirect.failureClass, 'permanent');
  assert.equal(redirect.message, 'bucket "moved-bucket" is in eu-west-1, not us-east-1: set s3.region to "eu-west-1"');
  assert.match((await classified('moved-nohdr')).message, /is in ap-southeast-2, not us-east-1/, 'from the Endpoint element');
  assert.match((await classified('malformed-auth')).message, /is in sa-east-1, not us-east-1/, 'from the Region element');
  const head = await classified('moved-bucket', 'head');
  assert.equal(head.code, 'wrong_region', 'HEAD: no body, only the x-amz-bucket-region header');
  assert.match(head.message, /is in eu-west-1/);
});

test('permanent failures name the fix; retryable ones are retried', async () => {
  const kms = await classified('kms-denied', 'put', { sseMode: 'aws:kms', kmsKeyId: 'arn:aws:kms:us-east-1:1:key/k' });
  assert.equal(kms.code, 'kms_denied');
  assert.match(kms.message, /allow kms:GenerateDataKey and kms:Decrypt/);
  assert.equal((await classified('kms-disabled')).code, 'kms_denied');
  const acl = await classified('no-acls');
  assert.equal(acl.code, 'acl_not_supported');
  assert.match(acl.message, /remove s3\.acl/);
  assert.equal((await classified('skewed')).code, 'clock_skew');
  const denied = await classified('denied');
  assert.equal(denied.code, 'access_denied');
  assert.match(denied.message, /need s3:PutObject/);
  assert.equal((await classified('denied', 'head')).code, 'access_denied', 'HEAD 403 without a body');
  assert.equal((await classified('bad-sig')).code, 'invalid_credentials');
  assert.equal((await classified('bad-class')).code, 'bad_setting');
  assert.equal((await classified('nothing-here')).code, 'bucket_not_found');
  const tooBig = await classified('too-big');
  assert.equal(tooBig.code, 'rejected');
  assert.equal(tooBig.failureClass, 'permanent');
  for (const b of ['slow-down', 'internal']) {
    const e = await classified(b);
    assert.equal(e.failureClass, 'retryable', b);
  }
  assert.equal((await classified('slow-down')).code, 'throttled');
  const hangup = await classified('hangup');
  assert.equal(hangup.failureClass, 'retryable');
  assert.equal(hangup.code, 'unreachable');
  const refused = classifyS3Error(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), { operation: 'upload', bucket: 'b', region: 'us-east-1', endpoint: 'http://127.0.0.1:1' });
  assert.equal(refused.code, 'unreachable');
  assert.match(refused.message, /cannot reach the S3 service at http:\/\/127\.0\.0\.1:1/);
  const noCreds = classifyS3Error(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), { operation: 'upload', bucket: 'b', region: 'us-east-1' });
  assert.equal(noCreds.code, 'credentials_missing');
  assert.equal(noCreds.failureClass, 'permanent');
});
