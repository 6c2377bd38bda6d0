/**
 * Confirming an upload from its own answer when HEAD is denied
 * (write-only credentials), for every shape of answer the S3 services give:
 * AWS (md5-of-md5s-N), s3rver (whole MD5), Ceph radosgw 16 (empty Complete
 * ETag, part ETags), SSE-KMS (opaque ETags) and returned checksums. A value
 * that differs is a mismatch; nothing comparable is "unconfirmed".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { MiB, digestBuffer, expectedEtag } from '../../src/storage/targets/integrity.js';
import { confirmFromResponse, crc32Base64, type UploadResponse } from '../../src/storage/targets/confirm.js';

const data = randomBytes(12 * MiB);
const d = digestBuffer(data, 5 * MiB);
const single = digestBuffer(data.subarray(0, MiB), 5 * MiB);
const hex = (b: Buffer) => b.toString('hex');
const partEtags = new Map(d.partMd5s.map((m, i) => [i + 1, hex(m)] as const));
const answer = (r: Partial<UploadResponse>): UploadResponse => ({ etag: '', partEtags: new Map(), opaqueEtags: false, ...r });

test('a single PUT is confirmed by its MD5 ETag; another MD5 is a mismatch', () => {
  assert.deepEqual(confirmFromResponse(single, answer({ etag: hex(single.md5!) })), { result: 'confirmed', by: 'etag' });
  const bad = confirmFromResponse(single, answer({ etag: 'f'.repeat(32) }));
  assert.equal(bad.result, 'mismatch');
  assert.match((bad as { reason: string }).reason, /is not the file's MD5/);
  assert.equal(confirmFromResponse(single, answer({ etag: '' })).result, 'unconfirmed', 'no ETag: nothing confirms it');
});

test("multipart: AWS's md5-of-md5s-N, s3rver's whole MD5, and Ceph's empty ETag with part ETags", () => {
  assert.match(expectedEtag(d), /-3$/);
  assert.deepEqual(confirmFromResponse(d, answer({ etag: expectedEtag(d) })), { result: 'confirmed', by: 'etag' });
  assert.deepEqual(confirmFromResponse(d, answer({ etag: hex(createHash('md5').update(data).digest()) })), { result: 'confirmed', by: 'etag' });
  assert.deepEqual(confirmFromResponse(d, answer({ etag: '', partEtags })), { result: 'confirmed', by: 'part-etags' });

  const wrongCount = confirmFromResponse(d, answer({ etag: `${'a'.repeat(32)}-2`, partEtags }));
  assert.equal(wrongCount.result, 'mismatch');
  assert.match((wrongCount as { reason: string }).reason, /names 2 parts, 3 were sent/);
  assert.equal(confirmFromResponse(d, answer({ etag: `${'a'.repeat(32)}-3`, partEtags })).result, 'mismatch', 'a wrong md5-of-md5s');
  const badPart = new Map(partEtags);
  badPart.set(2, 'b'.repeat(32));
  assert.match((confirmFromResponse(d, answer({ partEtags: badPart })) as { reason: string }).reason, /part 2 was stored with ETag b+/);
  const missing = new Map(partEtags);
  missing.delete(3);
  assert.equal(confirmFromResponse(d, answer({ partEtags: missing })).result, 'unconfirmed', 'a part without its ETag');
});

test('SSE-KMS: opaque ETags are not compared; Content-MD5 checked per part and the part count confirm it', () => {
  assert.deepEqual(confirmFromResponse(d, answer({ etag: `${'c'.repeat(32)}-3`, opaqueEtags: true })), { result: 'confirmed', by: 'content-md5' });
  assert.deepEqual(confirmFromResponse(single, answer({ etag: 'c'.repeat(32), opaqueEtags: true })), { result: 'confirmed', by: 'content-md5' });
  assert.equal(confirmFromResponse(d, answer({ etag: `${'c'.repeat(32)}-4`, opaqueEtags: true })).result, 'mismatch', 'the part count still counts');
  assert.equal(confirmFromResponse(d, answer({ etag: '', opaqueEtags: true })).result, 'unconfirmed', 'an empty answer confirms nothing');
});

test('a returned checksum: full-object CRC32 compared, composite one counts parts', () => {
  assert.equal(crc32Base64(crc32(data)), Buffer.from(crc32(data).toString(16).padStart(8, '0'), 'hex').toString('base64'));
  assert.deepEqual(confirmFromResponse(single, answer({ etag: '', checksumCrc32: crc32Base64(single.crc32!) })), { result: 'confirmed', by: 'checksum' });
  assert.deepEqual(confirmFromResponse(d, answer({ checksumCrc32: crc32Base64(d.crc32!) })), { result: 'confirmed', by: 'checksum' }, 'a FULL_OBJECT multipart checksum');
  assert.equal(confirmFromResponse(single, answer({ etag: hex(single.md5!), checksumCrc32: 'AAAAAA==' })).result, 'mismatch', 'a wrong checksum wins over a right ETag');
  assert.equal(confirmFromResponse(d, answer({ checksumCrc32: 'AAAAAA==-2', etag: expectedEtag(d) })).result, 'mismatch');
  assert.deepEqual(confirmFromResponse(d, answer({ checksumCrc32: 'AAAAAA==-3', etag: expectedEtag(d) })), { result: 'confirmed', by: 'etag' }, 'composite: the ETag decides');
  assert.deepEqual(confirmFromResponse(d, answer({ checksumCrc32: 'AAAAAA==-3', opaqueEtags: true })), { result: 'confirmed', by: 'content-md5' });
});
