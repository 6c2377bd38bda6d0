// Exercises test/helpers/radosgw.ts against a real Ceph radosgw and pins the
// Ceph 16 behaviours bucketcast relies on (see test/helpers/radosgw.md).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { startRadosgw, type Radosgw, type S3Keys } from '../helpers/radosgw.js';

let rgw: Radosgw;
const clients: S3Client[] = [];
const client = (credentials: S3Keys, extra: Partial<S3ClientConfig> = {}) => {
  const c = new S3Client({ endpoint: rgw.endpoint, region: rgw.region, forcePathStyle: true, credentials, ...extra });
  clients.push(c);
  return c;
};
/** Asserts that `p` rejects with HTTP `status` (and S3 error `code` when given). */
async function rejectsWith(p: Promise<unknown>, status: number, code?: string) {
  await assert.rejects(p, (e: any) => {
    assert.equal(e.$metadata?.httpStatusCode, status, `${e.name}: ${e.message}`);
    if (code) assert.equal(e.name, code);
    return true;
  });
}

before(async () => {
  const t0 = Date.now();
  rgw = await startRadosgw({ log: process.env.RADOSGW_DEBUG ? (s) => console.error(s) : undefined });
  console.log(`radosgw started in ${Date.now() - t0} ms at ${rgw.endpoint}`);
}, { timeout: 120_000 });

after(async () => {
  for (const c of clients) c.destroy();
  await rgw?.stop();
});

test('admin creates a bucket, puts and gets an object', async () => {
  const s3 = client(rgw.admin);
  await s3.send(new CreateBucketCommand({ Bucket: 'smoke' }));
  await s3.send(new PutObjectCommand({ Bucket: 'smoke', Key: 'hello.txt', Body: 'hello radosgw' }));
  const got = await s3.send(new GetObjectCommand({ Bucket: 'smoke', Key: 'hello.txt' }));
  assert.equal(await got.Body!.transformToString(), 'hello radosgw');
  const list = await s3.send(new ListObjectsV2Command({ Bucket: 'smoke' }));
  assert.deepEqual(list.Contents?.map((o) => o.Key), ['hello.txt']);
});

test('12 MB lib-storage Upload works with the SDK default checksums; streamed PutObject needs WHEN_REQUIRED', async () => {
  const data = randomBytes(12 * 1024 * 1024);
  const dflt = client(rgw.admin); // requestChecksumCalculation: WHEN_SUPPORTED
  await dflt.send(new CreateBucketCommand({ Bucket: 'checksums' }));
  // Parts are Buffers, so the SDK sends x-amz-checksum-crc32 as a header: accepted.
  await new Upload({ client: dflt, params: { Bucket: 'checksums', Key: 'big', Body: data }, partSize: 5 * 1024 * 1024 }).done();
  const got = await dflt.send(new GetObjectCommand({ Bucket: 'checksums', Key: 'big' }));
  assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(data));
  assert.match(got.ETag ?? '', /-3"$/); // 3 parts
  // A stream body makes the SDK use aws-chunked + trailing checksum, which Ceph 16 rejects.
  const stream = () => Readable.from([data.subarray(0, 1024 * 1024)]);
  await rejectsWith(dflt.send(new PutObjectCommand({ Bucket: 'checksums', Key: 's', Body: stream(), ContentLength: 1024 * 1024 })),
    411, 'MissingContentLength');
  const required = client(rgw.admin, { requestChecksumCalculation: 'WHEN_REQUIRED' });
  await required.send(new PutObjectCommand({ Bucket: 'checksums', Key: 's', Body: stream(), ContentLength: 1024 * 1024 }));
  const head = await required.send(new HeadObjectCommand({ Bucket: 'checksums', Key: 's' }));
  assert.equal(head.ContentLength, 1024 * 1024);
});

test('bucket policy makes a second user write-only under streams/ and previews/', async () => {
  const admin = client(rgw.admin);
  const Bucket = 'recordings';
  await admin.send(new CreateBucketCommand({ Bucket }));
  await admin.send(new PutObjectCommand({ Bucket, Key: 'streams/existing.ts', Body: 'old' }));
  const writerKeys = await rgw.createUser('writer');
  const writer = client(writerKeys);

  // Without a policy a non-owner user of the same tenant is denied (default deny).
  await rejectsWith(writer.send(new PutObjectCommand({ Bucket, Key: 'streams/a.ts', Body: 'x' })), 403, 'AccessDenied');

  await admin.send(new PutBucketPolicyCommand({
    Bucket,
    Policy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [{
        Effect: 'Allow',
        Principal: { AWS: ['arn:aws:iam:::user/writer'] },
        Action: ['s3:PutObject'],
        Resource: [`arn:aws:s3:::${Bucket}/streams/*`, `arn:aws:s3:::${Bucket}/previews/*`],
      }],
    }),
  }));

  await writer.send(new PutObjectCommand({ Bucket, Key: 'streams/a.ts', Body: 'segment' }));
  await writer.send(new PutObjectCommand({ Bucket, Key: 'previews/a.jpg', Body: 'jpeg' }));
  await rejectsWith(writer.send(new PutObjectCommand({ Bucket, Key: 'elsewhere.ts', Body: 'x' })), 403, 'AccessDenied');
  await rejectsWith(writer.send(new GetObjectCommand({ Bucket, Key: 'streams/existing.ts' })), 403, 'AccessDenied');
  await rejectsWith(writer.send(new HeadObjectCommand({ Bucket, Key: 'streams/existing.ts' })), 403); // HEAD: no body, no code
  await rejectsWith(writer.send(new ListObjectsV2Command({ Bucket })), 403, 'AccessDenied');
  await rejectsWith(writer.send(new DeleteObjectCommand({ Bucket, Key: 'streams/existing.ts' })), 403, 'AccessDenied');

  // Multipart needs nothing beyond s3:PutObject ...
  const big = randomBytes(11 * 1024 * 1024);
  await new Upload({
    client: writer,
    params: { Bucket, Key: 'streams/big.ts', Body: big, ACL: 'bucket-owner-full-control' },
    partSize: 5 * 1024 * 1024,
  }).done();
  // ... but aborting one needs s3:AbortMultipartUpload.
  const mpu = await writer.send(new CreateMultipartUploadCommand({ Bucket, Key: 'streams/aborted.ts' }));
  await rejectsWith(writer.send(new AbortMultipartUploadCommand({ Bucket, Key: 'streams/aborted.ts', UploadId: mpu.UploadId })),
    403, 'AccessDenied');
  await admin.send(new AbortMultipartUploadCommand({ Bucket, Key: 'streams/aborted.ts', UploadId: mpu.UploadId }));

  // Objects belong to their writer (Ceph 16 has no BucketOwnerEnforced): the
  // bucket owner can read them only if they were written with the
  // bucket-owner-full-control ACL (or the policy grants the owner s3:GetObject).
  await rejectsWith(admin.send(new GetObjectCommand({ Bucket, Key: 'streams/a.ts' })), 403, 'AccessDenied');
  const bigBack = await admin.send(new GetObjectCommand({ Bucket, Key: 'streams/big.ts' }));
  assert.ok(Buffer.from(await bigBack.Body!.transformToByteArray()).equals(big));
  const listed = await admin.send(new ListObjectsV2Command({ Bucket }));
  assert.deepEqual(listed.Contents?.map((o) => o.Key).sort(),
    ['previews/a.jpg', 'streams/a.ts', 'streams/big.ts', 'streams/existing.ts']);
});

test('stop() kills the daemons and removes the temp dir', async () => {
  const dir = rgw.dir;
  assert.ok(existsSync(`${dir}/ceph.conf`));
  await rgw.stop();
  assert.equal(existsSync(dir), false);
  await assert.rejects(fetch(rgw.endpoint, { signal: AbortSignal.timeout(2000) }));
  await rgw.stop(); // idempotent
});
