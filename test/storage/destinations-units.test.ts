/**
 * The parts without a stream: what a pre-signed URL says of
 * itself (expiry, bucket and key, SigV2 or V4), stream-id patterns, s3://
 * URLs; and the kept destination of a recording across a restart of the
 * storage module (sealed on disk, its upload going to the destination after
 * the restart, against s3rver), and with a changed server key: the upload
 * fails `destination_unreadable` and nothing goes to the app's bucket. An
 * output asked for a session binds its recording even when the session ended
 * before the recording started (a short import), and never a later session's.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { presignedExpiry, presignedObject, publicUrl, isSigV2, parseOutput } from '../../src/storage/destinations/output.js';
import { parseS3Url, streamIdPattern } from '../../src/config/destinations-schema.js';
import { startS3Target, s3SettingsFor, type S3TestTarget } from '../helpers/s3.js';
import { appOf, plantRecording, removeDir, startStorage } from '../helpers/storage.js';

const KEY_A = 'a'.repeat(64);
const KEY_B = 'b'.repeat(64);
let s3: S3TestTarget;

before(async () => {
  s3 = await startS3Target();
  await s3.createBucket('appb');
  await s3.createBucket('dest');
});
after(async () => {
  await s3?.cleanup();
});

test('a pre-signed URL: its expiry, the object it writes, its signature version; s3:// URLs and stream-id patterns', () => {
  const v4 = 'https://my-bucket.s3.eu-west-1.amazonaws.com/out/a%20b.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261205T080000Z&X-Amz-Expires=7200&X-Amz-Signature=abc&X-Amz-SignedHeaders=host';
  assert.equal(presignedExpiry(v4), Date.UTC(2026, 11, 5, 10, 0, 0));
  assert.deepEqual(presignedObject(v4), { bucket: 'my-bucket', key: 'out/a b.mp4' });
  assert.equal(publicUrl(v4), 'https://my-bucket.s3.eu-west-1.amazonaws.com/out/a%20b.mp4');
  assert.equal(isSigV2(v4), false);
  const path = 'http://127.0.0.1:9000/bkt/x/y.mp4?X-Amz-Date=20261205T080000Z&X-Amz-Expires=60&X-Amz-Signature=s';
  assert.deepEqual(presignedObject(path), { bucket: 'bkt', key: 'x/y.mp4' });
  const v2 = 'https://bkt.s3.amazonaws.com/k.mp4?AWSAccessKeyId=AKIA&Expires=1796457600&Signature=zz';
  assert.equal(presignedExpiry(v2), 1796457600_000);
  assert.equal(isSigV2(v2), true);
  assert.equal(presignedExpiry('https://example.com/k.mp4'), undefined, 'no expiry named');
  assert.equal(presignedExpiry('https://example.com/k.mp4?X-Amz-Date=garbage&X-Amz-Expires=60'), undefined);
  assert.throws(() => parseOutput(v4, Date.UTC(2026, 11, 5, 10, 0, 1)), (e: { code: string }) => e.code === 'output_expired');
  assert.equal(parseOutput(v4, Date.UTC(2026, 11, 5, 9, 0, 0)).kind, 'presigned-put');

  assert.deepEqual(parseS3Url('s3://bucket-x/a/b/'), { bucket: 'bucket-x', prefix: 'a/b' });
  assert.deepEqual(parseS3Url('s3://bucket-x'), { bucket: 'bucket-x', prefix: '' });
  for (const bad of ['s3://b/x', 's3://bucket/../x', 's3://bucket/x?y=1', 'https://bucket/x', 's3://bu cket/x', 's3://bucket/%zz']) assert.ok('problem' in parseS3Url(bad), bad);

  const cam = streamIdPattern('cam-*');
  assert.ok(cam.test('cam-1') && cam.test('cam-') && !cam.test('xcam-1') && !cam.test('cam1'));
  const q = streamIdPattern('lobby-?.x');
  assert.ok(q.test('lobby-a.x') && !q.test('lobby-ab.x') && !q.test('lobby-a_x'), 'the dot is literal');
});

test('a recording\'s destination survives a restart (sealed on disk) and its upload goes there; with another server key it fails, never elsewhere', async () => {
  const app = appOf({ name: 'live', s3: s3SettingsFor(s3, 'appb', { partSizeMiB: 5 }) });
  const h1 = await startStorage([app], { secretKey: KEY_A });
  const dataDir = h1.dataDir;
  const rec = plantRecording(dataDir, 'live', { streamId: 's9' });
  const { recordingId } = rec.completed;
  const secret = s3.credentials.secretAccessKey;
  h1.service.destinations.book.setPending('live', 's9', { kind: 's3', bucket: 'dest', prefix: 'kept', credential: { source: 'inline', accessKeyId: s3.credentials.accessKeyId, secretAccessKey: secret } });
  const { protocol, name, startedAt } = rec.completed;
  await h1.events.emit('recording.started', { recordingId, app: 'live', streamId: 's9', sessionId: 'sess-s9', protocol, name, startedAt });
  await h1.stop();
  const file = path.join(dataDir, 'destinations', `${recordingId}.json`);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const kept = readFileSync(file, 'utf8');
  assert.ok(!kept.includes(secret) && !kept.includes(s3.credentials.accessKeyId), 'sealed');

  // Another server key: the recording fails visibly, nothing goes to the app's bucket.
  const wrong = await startStorage([app], { secretKey: KEY_B, dataDir });
  try {
    await wrong.events.emit('recording.completed', rec.completed);
    const failed = await wrong.waitFor('upload.failed', (e) => e.recordingId === recordingId);
    assert.equal(failed.code, 'destination_unreadable');
    assert.equal(failed.errorClass, 'permanent');
    assert.match(failed.message, /restore the server key/);
    assert.deepEqual(await s3.listObjects('appb'), []);
  } finally {
    await wrong.stop();
  }

  // The right key again: the retried upload goes to the destination, the whole recording.
  const h2 = await startStorage([app], { secretKey: KEY_A, dataDir });
  try {
    await h2.service.retry({ recordingId });
    await h2.waitFor('upload.completed', (e) => e.recordingId === recordingId && e.kind === 'metadata', 30_000);
    const keys = (await s3.listObjects('dest')).map((o) => o.key).sort();
    assert.deepEqual(keys, [...rec.completed.files.map((f) => `kept/${f.kind === 'poster' ? 'previews' : 'streams'}/${f.name}`), `kept/streams/${name}.json`].sort());
    for (const f of rec.completed.files) assert.ok((await s3.getObject('dest', `kept/${f.kind === 'poster' ? 'previews' : 'streams'}/${f.name}`)).equals(rec.contents.get(f.name)!), f.name);
    assert.deepEqual(await s3.listObjects('appb'), [], 'nothing in the app bucket');
    const sidecar = (await s3.getObject('dest', `kept/streams/${name}.json`)).toString('utf8');
    assert.ok(!sidecar.includes(secret), 'not in the sidecar');
    const logs = [...h1.logLines, ...wrong.logLines, ...h2.logLines].join('\n');
    assert.ok(!logs.includes(secret) && !logs.includes(s3.credentials.accessKeyId), 'not logged');
    let grep = '';
    try {
      grep = execFileSync('grep', ['-rlF', secret, dataDir], { encoding: 'utf8' });
    } catch (err) {
      assert.equal((err as { status: number }).status, 1);
    }
    assert.equal(grep, '', 'not in plain text anywhere under the data dir');
    // Deleting the recording deletes it in its destination and forgets the sealed keys.
    const deleted = await h2.service.deleteRecording(recordingId);
    assert.equal(deleted.objectsDeleted, keys.length);
    assert.deepEqual(await s3.listObjects('dest'), []);
    assert.throws(() => statSync(file), /ENOENT/);
  } finally {
    await h2.stop();
    removeDir(dataDir);
  }
});

test('pre-signed PUT delivery without a stream: the MP4 alone at exactly the key; a refused URL, a file over 5 GB: refused, files kept', async () => {
  const { getSignedUrl } = await import('@aws-sdk/s3-request-presigner');
  const { PutObjectCommand } = await import('@aws-sdk/client-s3');
  const { truncateSync, existsSync } = await import('node:fs');
  const client = s3.client();
  const app = appOf({ name: 'live', s3: s3SettingsFor(s3, 'appb'), recordSegmentSeconds: 0 });
  const h = await startStorage([app], { secretKey: KEY_A });
  // (s3rver does not check signatures: a URL for a bucket that does not exist is the refusal here.)
  const deliver = async (key: string, refused: boolean, before?: (mp4: string) => void) => {
    const rec = plantRecording(h.dataDir, 'live');
    const url = await getSignedUrl(client, new PutObjectCommand({ Bucket: refused ? 'nosuchbucket' : 'dest', Key: key }), { expiresIn: 600 });
    h.service.destinations.book.setPending('live', rec.completed.streamId, { kind: 'presigned-put', url });
    const mp4 = rec.completed.files.find((f) => f.kind === 'mp4')!;
    before?.(mp4.path);
    await h.events.emit('recording.completed', rec.completed);
    return { rec, mp4, url };
  };
  try {
    const ok = await deliver('exact/key with space.mp4', false);
    const done = await h.waitFor('upload.completed', (e) => e.recordingId === ok.rec.completed.recordingId);
    assert.deepEqual([done.bucket, done.key, done.url], ['dest', 'exact/key with space.mp4', `${s3.endpoint}/dest/exact/key%20with%20space.mp4`]);
    assert.ok((await s3.getObject('dest', 'exact/key with space.mp4')).equals(ok.rec.contents.get(ok.mp4.name)!), 'byte-identical');
    const files = (await h.store.catalog.getRecording(ok.rec.completed.recordingId))!.files;
    assert.deepEqual(files.filter((f) => f.state !== 'local').map((f) => f.kind), ['mp4'], 'the MP4 alone; no sidecar');
    assert.ok(!existsSync(ok.mp4.path), 'primary mode: the local copy is gone once delivered');
    assert.ok(existsSync(ok.rec.completed.files.find((f) => f.kind === 'poster')!.path), 'the rest stays local');

    const bad = await deliver('exact/tampered.mp4', true);
    const refused = await h.waitFor('upload.failed', (e) => e.recordingId === bad.rec.completed.recordingId);
    assert.equal(refused.code, 'output_rejected');
    assert.equal(refused.errorClass, 'permanent');
    assert.match(refused.message, /^PUT to http:\/\/127\.0\.0\.1:\d+\/nosuchbucket\/exact\/tampered\.mp4 was refused \(404 NoSuchBucket/);
    assert.ok(!refused.message.includes('X-Amz-Signature'), 'the message shows no signature');
    assert.ok(existsSync(bad.mp4.path), 'kept');

    const big = await deliver('exact/big.mp4', false, (p) => truncateSync(p, 5 * 1024 ** 3 + 1));
    const tooBig = await h.waitFor('upload.failed', (e) => e.recordingId === big.rec.completed.recordingId);
    assert.equal(tooBig.code, 'output_too_large');
    assert.match(tooBig.message, /at most 5 GB/);
    assert.ok(existsSync(big.mp4.path), 'kept');
    truncateSync(big.mp4.path, 0);
    assert.deepEqual((await s3.listObjects('dest', 'exact/')).map((o) => o.key), ['exact/key with space.mp4']);
    const logs = h.logLines.join('\n');
    for (const d of [ok, bad, big]) assert.ok(!logs.includes(new URL(d.url).searchParams.get('X-Amz-Signature')!), 'no signature logged');
  } finally {
    await h.stop();
    removeDir(h.dataDir);
  }
});

test('an output binds the recording of the session it was asked for, even when that session ended before its recording started; a later session of the stream id goes to the app bucket', async () => {
  const app = appOf({ name: 'live', s3: s3SettingsFor(s3, 'appb', { partSizeMiB: 5 }) });
  const h = await startStorage([app], { secretKey: KEY_A });
  try {
    const book = h.service.destinations.book;
    const output = { kind: 's3' as const, bucket: 'dest', prefix: 'short', credential: { source: 'inline' as const, accessKeyId: s3.credentials.accessKeyId, secretAccessKey: s3.credentials.secretAccessKey } };
    const rec = plantRecording(h.dataDir, 'live', { streamId: 'imp' });
    const { recordingId, protocol, name, startedAt } = rec.completed;
    const session = { app: 'live', streamId: 'imp', protocol, remoteAddress: '127.0.0.1', startedAt };
    book.setPending('live', 'imp', output, 'sess-1');
    await h.events.emit('stream.started', { ...session, sessionId: 'sess-1' });
    // The import was read at once: its session ended before the recorder's manifest was even written.
    await h.events.emit('stream.ended', { ...session, sessionId: 'sess-1', endedAt: new Date().toISOString(), reason: 'publisher closed' });
    await h.events.emit('recording.started', { recordingId, app: 'live', streamId: 'imp', sessionId: 'sess-1', protocol, name, startedAt });
    assert.equal(book.get(recordingId)?.origin, 'api', 'bound to the output asked for its session');
    await h.events.emit('recording.completed', rec.completed);
    await h.waitFor('upload.completed', (e) => e.recordingId === recordingId && e.kind === 'metadata', 30_000);
    assert.ok((await s3.listObjects('dest')).some((o) => o.key === `short/streams/${name}.json`), 'uploaded to the output');
    assert.deepEqual(await s3.listObjects('appb'), [], 'nothing in the app bucket');

    // Another publisher of the same stream id, nothing asked: the app's bucket, whatever was asked before.
    book.setPending('live', 'imp', output, 'sess-2');
    await h.events.emit('stream.ended', { ...session, sessionId: 'sess-2', endedAt: new Date().toISOString(), reason: 'publisher closed' });
    const later = { recordingId: 'rec-later-session', app: 'live', streamId: 'imp', sessionId: 'sess-3', protocol, name: 'imp_later', startedAt };
    await h.events.emit('recording.started', later);
    assert.equal(book.get(later.recordingId), undefined, 'no output kept for it: the app bucket');
    // A live session's output is not taken by another session's recording either.
    book.setPending('live', 'imp', output, 'sess-4');
    await h.events.emit('recording.started', { ...later, recordingId: 'rec-other-session', sessionId: 'sess-5' });
    assert.equal(book.get('rec-other-session'), undefined);
    await h.events.emit('recording.started', { ...later, recordingId: 'rec-own-session', sessionId: 'sess-4' });
    assert.equal(book.get('rec-own-session')?.origin, 'api');
  } finally {
    await h.stop();
    removeDir(h.dataDir);
  }
});
