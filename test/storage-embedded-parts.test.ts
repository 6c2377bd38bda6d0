/**
 * The embedded store (s3rver with bucketcast's multipart additions) answers
 * a part of an aborted or unknown upload as S3 does — NoSuchUpload — instead
 * of bringing the aborted upload's folder back (which left parts behind when
 * an upload was aborted while a part was still arriving).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AbortMultipartUploadCommand, CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { startS3rver } from './helpers/s3.js';

test('a part of an aborted or unknown upload is NoSuchUpload and leaves nothing behind', async () => {
  const s3 = await startS3rver();
  const client = s3.client();
  try {
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
  } finally {
    client.destroy();
    await s3.cleanup();
  }
});
