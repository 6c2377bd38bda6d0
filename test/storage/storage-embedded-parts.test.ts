/**
 * The s3rver test double (with the multipart additions and
 * guarded writes) answers as S3 does: a part of an aborted or unknown upload
 * is NoSuchUpload (instead of bringing the aborted upload's folder back), a
 * completion naming a missing or mismatched part is InvalidPart (instead of
 * crashing the process), and a request cut off mid-body stores nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { startS3rver, type S3TestTarget } from '../helpers/s3.js';

const MiB = 1024 * 1024;

/** Runs a case against a fresh embedded store (s3rver with bucketcast's additions) and its client. */
async function withStore(fn: (s3: S3TestTarget, client: S3Client) => Promise<void>): Promise<void> {
  const s3 = await startS3rver();
  const client = s3.client();
  try {
    await fn(s3, client);
  } finally {
    client.destroy();
    await s3.cleanup();
  }
}

test('a part of an aborted or unknown upload is NoSuchUpload and leaves nothing behind', () =>
  withStore(async (s3, client) => {
    await s3.createBucket('parts');
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: 'parts', Key: 'a.mp4' }));
    await client.send(new UploadPartCommand({ Bucket: 'parts', Key: 'a.mp4', UploadId, PartNumber: 1, Body: Buffer.alloc(1024, 1) }));
    assert.deepEqual(s3.pendingUploadDirs('parts'), [UploadId]);
    await client.send(new AbortMultipartUploadCommand({ Bucket: 'parts', Key: 'a.mp4', UploadId }));
    assert.deepEqual(s3.pendingUploadDirs('parts'), []);
    for (const id of [UploadId!, 'ffff0000', '..%2F..%2Fx']) {
      await assert.rejects(client.send(new UploadPartCommand({ Bucket: 'parts', Key: 'a.mp4', UploadId: decodeURIComponent(id), PartNumber: 2, Body: Buffer.alloc(1024, 2) })), (e: Error) => {
        assert.equal(e.name, 'NoSuchUpload', id);
        return true;
      });
    }
    assert.deepEqual(s3.pendingUploadDirs('parts'), [], 'the aborted upload did not come back');
  }),
);

test('completing with a part never uploaded, a wrong ETag or parts out of order is InvalidPart / InvalidPartOrder; the store keeps serving and the upload still completes', () =>
  // s3rver's own completion opened each listed part unchecked: a missing one crashed the whole process.
  withStore(async (s3, client) => {
    await s3.createBucket('complete');
    const Bucket = 'complete';
    const Key = 'b.mp4';
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket, Key }));
    const bodies = [Buffer.alloc(5 * MiB, 1), Buffer.alloc(1000, 2)];
    const etags: string[] = [];
    for (const [i, Body] of bodies.entries()) etags.push((await client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: i + 1, Body }))).ETag!);
    const complete = (Parts: Array<{ PartNumber: number; ETag: string }>) => client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts } }));
    const cases: Array<[string, Array<{ PartNumber: number; ETag: string }>, string]> = [
      ['a part never uploaded', [{ PartNumber: 1, ETag: etags[0] }, { PartNumber: 7, ETag: etags[1] }], 'InvalidPart'],
      ['a wrong ETag', [{ PartNumber: 1, ETag: etags[0] }, { PartNumber: 2, ETag: '"0123456789abcdef0123456789abcdef"' }], 'InvalidPart'],
      ['parts out of order', [{ PartNumber: 2, ETag: etags[1] }, { PartNumber: 1, ETag: etags[0] }], 'InvalidPartOrder'],
    ];
    for (const [what, parts, code] of cases) {
      await assert.rejects(complete(parts), (e: Error) => {
        assert.equal(e.name, code, what);
        return true;
      });
    }
    assert.deepEqual(s3.pendingUploadDirs(Bucket), [UploadId], 'the upload is still there to be completed');
    await complete(etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })));
    const got = Buffer.from(await (await client.send(new GetObjectCommand({ Bucket, Key }))).Body!.transformToByteArray());
    assert.ok(got.equals(Buffer.concat(bodies)), 'the object is the parts in order');
    assert.deepEqual(s3.pendingUploadDirs(Bucket), []);
  }),
);

test('a PutObject or UploadPart cut off mid-body stores nothing, and does not remove the part a retry already wrote', () =>
  withStore(async (s3, client) => {
    await s3.createBucket('cut');
    const Bucket = 'cut';
    /** Sends half of `size` bytes, then is aborted once `until` settles. */
    const cutOff = async (send: (Body: Readable, abortSignal: AbortSignal) => Promise<unknown>, size: number, until: Promise<unknown>) => {
      const ac = new AbortController();
      const body = new Readable({ read() {} });
      body.push(Buffer.alloc(size / 2, 9));
      const sent = send(body, ac.signal);
      await new Promise((r) => setTimeout(r, 300));
      await until;
      ac.abort();
      await assert.rejects(sent);
      body.destroy();
      await new Promise((r) => setTimeout(r, 300)); // the store sees the close
    };

    await cutOff((Body, abortSignal) => client.send(new PutObjectCommand({ Bucket, Key: 'half.ts', Body, ContentLength: 2 * MiB }), { abortSignal }), 2 * MiB, Promise.resolve());
    await assert.rejects(client.send(new HeadObjectCommand({ Bucket, Key: 'half.ts' })), (e: Error) => e.name === 'NotFound');
    assert.deepEqual(readdirSync(path.join(s3.directory, Bucket), { recursive: true }), [], 'no half-written object or temp file');

    const Key = 'c.mp4';
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket, Key }));
    const body = Buffer.alloc(5 * MiB, 3);
    let etag = '';
    // The first attempt of part 1 is still arriving when its retry completes; then the first is cut off.
    const retry = client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: body })).then((r) => (etag = r.ETag!));
    await cutOff((Body, abortSignal) => client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body, ContentLength: 5 * MiB }), { abortSignal }), 5 * MiB, retry);
    await client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: etag }] } }));
    const got = Buffer.from(await (await client.send(new GetObjectCommand({ Bucket, Key }))).Body!.transformToByteArray());
    assert.ok(got.equals(body), 'the retry\'s part survived the cut-off first attempt');
  }),
);
