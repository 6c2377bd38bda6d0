/**
 * The storage-target suite: the same tests against every kind of
 * target an app can store to — the filesystem target (the local store) and
 * an S3 server (radosgw) — through the storage module as the server runs it
 * (real SQLite queue, real reader thread). Each target says where its
 * objects are and what an interrupted write would leave behind.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import type { Sidecar } from '../../src/storage/uploads/sidecar.js';
import { appOf, plantRecording, removeDir, startStorage, waitForUploaded, type PlantedRecording, type StorageHarness } from './storage.js';

/** A target under test. */
export interface SuiteTarget {
  name: string;
  /** The bucket name the catalog records for its objects. */
  bucket: string;
  /** The `s3` settings of an app that stores there (5 MiB parts where parts exist); may store a credential in the harness. */
  settings(h: StorageHarness): Promise<Record<string, unknown>>;
  /** An object's bytes, or undefined when there is none. */
  read(h: StorageHarness, key: string): Promise<Buffer | undefined>;
  /** What interrupted writes left under a key prefix (incomplete multipart uploads, temporary files). */
  leftovers(h: StorageHarness, prefix: string): Promise<string[]>;
  stop(): Promise<void>;
}

const MiB = 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Registers the suite's tests against the target `start` gives. */
export function targetSuite(start: () => Promise<SuiteTarget>): void {
  let t: SuiteTarget;
  let h: StorageHarness;
  before(async () => {
    t = await start();
    h = await startStorage([appOf({ name: 'setup', s3RecordingEnabled: false })]);
  });
  after(async () => {
    await h?.stop();
    if (h) removeDir(h.dataDir);
    await t?.stop();
  });

  async function uploaded(appName: string, mp4Bytes: number): Promise<PlantedRecording> {
    h.apps.put(appOf({ name: appName, s3: await t.settings(h) }));
    const rec = plantRecording(h.dataDir, appName, { mp4Bytes });
    assert.equal(await h.events.emit('recording.completed', rec.completed), true);
    await waitForUploaded(h, rec);
    return rec;
  }

  test('a 12 MB recording is stored byte for byte, its SHA-256 taken on the way, listed in the sidecar; local copies gone, nothing left half-written', async () => {
    const rec = await uploaded('whole', 12 * MiB);
    const files = (await h.store.catalog.getRecording(rec.completed.recordingId))!.files;
    assert.ok(files.every((f) => f.state === 'uploaded' && f.bucket === t.bucket), files.map((f) => `${f.name}=${f.state}@${f.bucket}`).join(', '));
    for (const [name, bytes] of rec.contents) {
      const f = files.find((x) => x.name === name)!;
      const got = await t.read(h, f.key!);
      assert.ok(got?.equals(bytes), `${name} is byte-identical at ${f.key}`);
      assert.equal(f.sha256, sha256(bytes));
      assert.ok(!existsSync(f.localPath!), `primary mode: local ${name} deleted`);
    }
    const sidecar = files.find((f) => f.kind === 'metadata')!;
    const doc = JSON.parse((await t.read(h, sidecar.key!))!.toString('utf8')) as Sidecar;
    assert.deepEqual(doc.objects.map((o) => o.key).sort(), files.filter((f) => f.kind !== 'metadata').map((f) => f.key!).sort(), 'the sidecar lists every object');
    assert.equal(doc.checksum?.value, sha256(rec.contents.get(`${rec.completed.name}.mp4`)!));
    assert.deepEqual(await t.leftovers(h, 'whole/'), [], 'nothing half-written');
  });

  test('deleting a recording removes its objects and its catalog entry', async () => {
    const rec = await uploaded('deleting', 6 * MiB);
    const files = (await h.store.catalog.getRecording(rec.completed.recordingId))!.files;
    const result = await h.service.deleteRecording(rec.completed.recordingId);
    assert.equal(result.objectsDeleted, files.length);
    for (const f of files) assert.equal(await t.read(h, f.key!), undefined, `${f.key} is gone`);
    assert.equal(await h.store.catalog.getRecording(rec.completed.recordingId), undefined);
  });

  test('a file that vanished before its upload fails as local_file_missing (permanent) and the others still go', async () => {
    h.apps.put(appOf({ name: 'vanished', s3: await t.settings(h) }));
    const rec = plantRecording(h.dataDir, 'vanished', { mp4Bytes: 6 * MiB });
    const mp4 = rec.completed.files.find((f) => f.kind === 'mp4')!;
    rmSync(mp4.path);
    await h.events.emit('recording.completed', rec.completed);
    const failed = await h.waitFor('upload.failed', (e) => e.recordingId === rec.completed.recordingId && e.kind === 'mp4', 60_000);
    assert.equal(failed.code, 'local_file_missing');
    assert.equal(failed.errorClass, 'permanent');
    await h.waitFor('upload.completed', (e) => e.recordingId === rec.completed.recordingId && e.kind === 'poster', 60_000);
    assert.deepEqual(await t.leftovers(h, 'vanished/'), []);
  });
}
