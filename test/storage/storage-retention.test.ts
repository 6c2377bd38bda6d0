/**
 * Dual mode: local copies are kept after a verified upload and
 * deleted by the retention sweep once the recording ended more than
 * `dualRetentionDays` ago — never before the upload is confirmed. In primary
 * mode the sweep removes a copy a crash left between "uploaded" and its
 * deletion. A recording announced twice is uploaded once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { startS3Target } from '../helpers/s3.js';
import { appOf, plantRecording, removeDir, startStorage } from '../helpers/storage.js';

test('dual mode keeps local copies until the retention passed, and only for confirmed uploads', async () => {
  const s3 = await startS3Target();
  await s3.createBucket('dual');
  const cred = { accessKeyId: 'S3RVER', secretAccessKey: 'x' };
  const settings = (extra: Record<string, unknown> = {}) => ({ bucket: 'dual', endpoint: s3.endpoint, forcePathStyle: true, storageMode: 'dual', dualRetentionDays: 1, ...extra });
  const h = await startStorage([appOf({ name: 'dual', s3: settings() }), appOf({ name: 'held', s3: settings({ bucket: 'missing-bucket' }) })], { storage: {} });
  process.env.AWS_ACCESS_KEY_ID = cred.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = cred.secretAccessKey;
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  try {
    const old = plantRecording(h.dataDir, 'dual', { startedAt: new Date(Date.now() - 3 * 86_400_000) });
    const fresh = plantRecording(h.dataDir, 'dual');
    const unconfirmed = plantRecording(h.dataDir, 'held', { startedAt: new Date(Date.now() - 3 * 86_400_000) });
    for (const r of [old, fresh, unconfirmed]) await h.events.emit('recording.completed', r.completed);
    // Announced again (a crash between enqueue and the manifest's deletion): nothing is uploaded twice.
    await h.events.emit('recording.completed', fresh.completed);
    for (const r of [old, fresh]) await h.waitFor('upload.completed', (e) => e.recordingId === r.completed.recordingId && e.kind === 'metadata');
    await h.waitFor('upload.failed', (e) => e.recordingId === unconfirmed.completed.recordingId && e.errorClass === 'permanent');
    // (The old recording is past its retention: the periodic sweep may already have taken it.)
    for (const r of [fresh, unconfirmed]) for (const f of r.completed.files) assert.ok(existsSync(f.path), `${f.name} kept right after the upload`);
    const completed = h.emitted.filter((e) => e.name === 'upload.completed');
    assert.ok(completed.every((e) => !(e.payload as { localDeleted: boolean }).localDeleted));
    for (const [key, n] of s3.writes('dual')) assert.equal(n, 1, `${key} uploaded once`);
    assert.equal(s3.writes('dual').size, 2 * (old.completed.files.length + 1));

    await h.service.sweep();
    for (const f of old.completed.files) assert.ok(!existsSync(f.path), `${f.name} deleted after the retention`);
    for (const f of fresh.completed.files) assert.ok(existsSync(f.path), `${f.name} still within the retention`);
    for (const f of unconfirmed.completed.files) assert.ok(existsSync(f.path), `${f.name} kept: its upload is not confirmed`);
    const rec = await h.store.catalog.getRecording(old.completed.recordingId);
    assert.ok(rec!.files.filter((f) => f.kind !== 'metadata').every((f) => f.localDeletedAt && f.state === 'uploaded' && f.key));

    // Switching to primary: the sweep removes every confirmed local copy.
    h.apps.put(appOf({ name: 'dual', s3: settings({ storageMode: 'primary' }) }));
    await h.service.sweep();
    for (const f of fresh.completed.files) assert.ok(!existsSync(f.path));
    for (const f of unconfirmed.completed.files) assert.ok(existsSync(f.path), 'never a file whose upload failed');
  } finally {
    await h.stop();
    removeDir(h.dataDir);
    await s3.cleanup();
  }
});
