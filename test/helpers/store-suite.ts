/**
 * The one test suite every `Store` implementation passes (SQLite now, a
 * shared database for several nodes later): catalog, upload queue with
 * leases, and the credential store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NewFile, RecordingRecord, Store } from '../../src/db/types.js';
import { adminStoreSuite } from './store-suite-admin.js';

export interface StoreHarness {
  store: Store;
  /** Closes and opens the same store again (durability). */
  reopen(): Promise<Store>;
  cleanup(): Promise<void>;
}

let seq = 0;
/** A recording with an MP4, a playlist, two segments, a poster and the sidecar. */
export function sampleRecording(app = 'live', startedAt = new Date()): { rec: Omit<RecordingRecord, 'createdAt'>; files: NewFile[] } {
  const n = ++seq;
  const name = `cam${n}_20261122T185003Z`;
  const rec = {
    recordingId: `rec-${n}-${Math.random().toString(16).slice(2)}`,
    app,
    streamId: `cam${n}`,
    protocol: 'rtmp' as const,
    name,
    startedAt: startedAt.toISOString(),
    endedAt: new Date(startedAt.getTime() + 20_000).toISOString(),
    durationSeconds: 20,
    sizeBytes: 3000,
    video: { codec: 'h264', width: 1280, height: 720, fps: 30 },
    audio: { codec: 'aac', sampleRate: 48000, channels: 2 },
    recovered: false,
  };
  const files: NewFile[] = [
    { kind: 'mp4', name: `${name}.mp4`, localPath: `/data/${app}/streams/${name}.mp4`, size: 2000 },
    { kind: 'hls-playlist', name: `${name}.m3u8`, localPath: `/data/${app}/streams/${name}.m3u8`, size: 100 },
    { kind: 'hls-segment', name: `${name}_00000.ts`, localPath: `/data/${app}/streams/${name}_00000.ts`, size: 400 },
    { kind: 'hls-segment', name: `${name}_00001.ts`, localPath: `/data/${app}/streams/${name}_00001.ts`, size: 400 },
    { kind: 'poster', name: `${name}.jpg`, localPath: `/data/${app}/previews/${name}.jpg`, size: 100 },
    { kind: 'metadata', name: `${name}.json`, localPath: null, size: 0 },
  ];
  return { rec, files };
}

const result = (key: string) => ({ bucket: 'b', key, url: `http://s3/b/${key}`, size: 10, sha256: 'ab'.repeat(32), etag: 'e', verifiedBy: 'head' as const });

/** Registers the suite's tests for one implementation. */
export function storeSuite(name: string, open: () => Promise<StoreHarness>): void {
  const withStore = (title: string, fn: (h: StoreHarness) => Promise<void>) =>
    test(`${name}: ${title}`, async () => {
      const h = await open();
      try {
        await fn(h);
      } finally {
        await h.cleanup();
      }
    });

  withStore('recording names: reserved once, by one node; the reservation survives a reopen', async (h) => {
    const { store } = h;
    assert.equal(await store.recordingNames.reserve('live', 'cam_20261122T185003Z', 'node-a'), true);
    assert.equal(await store.recordingNames.reserve('live', 'cam_20261122T185003Z', 'node-b'), false, 'taken by node-a');
    assert.equal(await store.recordingNames.reserve('live', 'cam_20261122T185003Z', 'node-a'), false, 'even for the node that holds it');
    assert.equal(await store.recordingNames.reserve('other', 'cam_20261122T185003Z', 'node-b'), true, 'names are per app');
    assert.equal(await store.recordingNames.reserve('live', 'cam_20261122T185003Z-2', 'node-b'), true);
    const again = await h.reopen();
    assert.equal(await again.recordingNames.nodeOf('live', 'cam_20261122T185003Z'), 'node-a');
    assert.equal(await again.recordingNames.nodeOf('live', 'cam_20261122T185003Z-2'), 'node-b');
    assert.equal(await again.recordingNames.nodeOf('live', 'nope'), undefined);
  });

  withStore('a recording announced twice is cataloged once, and new files are added', async ({ store }) => {
    const { rec, files } = sampleRecording();
    await store.catalog.addRecording(rec, files);
    assert.equal(await store.queue.enqueue(rec.recordingId, files.map((f) => f.name)), files.length);
    await store.catalog.addRecording({ ...rec, durationSeconds: 99 }, [...files, { kind: 'preview', name: `${rec.name}_0001.jpg`, localPath: '/x.jpg', size: 5 }]);
    const got = await store.catalog.getRecording(rec.recordingId);
    assert.ok(got);
    assert.equal(got.durationSeconds, 20, 'the first announcement stands');
    assert.equal(got.files.length, files.length + 1);
    assert.deepEqual(got.video, rec.video);
    assert.equal(got.files.find((f) => f.kind === 'mp4')!.state, 'queued', 'a known file keeps its state');
    assert.equal(got.files.find((f) => f.kind === 'preview')!.state, 'local');
    assert.equal(await store.queue.enqueue(rec.recordingId, files.map((f) => f.name)), 0, 'enqueueing again queues nothing');
  });

  withStore('recordings are listed newest first, filtered, and files found by name', async ({ store }) => {
    const a = sampleRecording('live', new Date('2026-01-01T00:00:00Z'));
    const b = sampleRecording('live', new Date('2026-01-02T00:00:00Z'));
    const c = sampleRecording('other', new Date('2026-01-03T00:00:00Z'));
    for (const r of [a, b, c]) await store.catalog.addRecording(r.rec, r.files);
    assert.deepEqual((await store.catalog.listRecordings({ app: 'live' })).map((r) => r.recordingId), [b.rec.recordingId, a.rec.recordingId]);
    assert.deepEqual((await store.catalog.listRecordings({ streamId: c.rec.streamId })).map((r) => r.recordingId), [c.rec.recordingId]);
    assert.equal((await store.catalog.listRecordings({ limit: 1, offset: 1 }))[0].recordingId, b.rec.recordingId);
    const f = await store.catalog.findFile('live', `${a.rec.name}_00001.ts`);
    assert.equal(f?.recordingId, a.rec.recordingId);
    assert.equal(f?.kind, 'hls-segment');
    assert.equal(await store.catalog.findFile('other', `${a.rec.name}.mp4`), undefined);
  });

  withStore('listings carry the upload state, filter by state and start time, page by key, and count', async ({ store }) => {
    const day = (d: number) => new Date(Date.UTC(2026, 0, d));
    const a = sampleRecording('live', day(1));
    const b = sampleRecording('live', day(2));
    const c = sampleRecording('live', day(3));
    const d = sampleRecording('live', day(4));
    for (const r of [a, b, c, d]) await store.catalog.addRecording(r.rec, r.files);
    // a: stays local; b: uploaded; c: one file failed; d: queued
    await store.queue.enqueue(b.rec.recordingId, [b.files[0].name]);
    const jb = await store.queue.claim('n', 60_000);
    await store.queue.complete(jb!.file.id, 'n', result('b'));
    await store.queue.enqueue(c.rec.recordingId, [c.files[0].name, c.files[1].name]);
    const jc = await store.queue.claim('n', 60_000);
    await store.queue.fail(jc!.file.id, 'n', { code: 'access_denied', message: 'denied' });
    await store.queue.enqueue(d.rec.recordingId, [d.files[0].name]);
    const all = await store.catalog.listRecordings({ app: 'live' });
    assert.deepEqual(all.map((r) => r.uploadState), ['queued', 'failed', 'uploaded', 'local']);
    assert.equal(all[1].fileCounts.failed, 1);
    assert.equal(all[1].fileCounts.queued, 1);
    assert.equal(all[3].fileCounts.local, a.files.length);
    assert.deepEqual((await store.catalog.listRecordings({ uploadState: 'failed' })).map((r) => r.recordingId), [c.rec.recordingId]);
    assert.equal(await store.catalog.countRecordings({ app: 'live', uploadState: 'uploaded' }), 1);
    const window = await store.catalog.listRecordings({ startedFrom: day(2).toISOString(), startedBefore: '2026-01-04T00:00:00+00:00' });
    assert.deepEqual(window.map((r) => r.recordingId), [c.rec.recordingId, b.rec.recordingId], 'from is inclusive, before exclusive; offsets are normalized');
    assert.equal(await store.catalog.countRecordings({ app: 'live' }), 4);
    const page1 = await store.catalog.listRecordings({ app: 'live', limit: 3 });
    const last = page1[page1.length - 1];
    const page2 = await store.catalog.listRecordings({ app: 'live', limit: 3, after: { startedAt: last.startedAt, recordingId: last.recordingId } });
    assert.deepEqual(page2.map((r) => r.recordingId), [a.rec.recordingId]);
  });

  withStore('a deleted recording leaves the catalog with its files; the backlog counts waiting bytes', async ({ store }) => {
    const a = sampleRecording('live', new Date(Date.now() - 60_000));
    const b = sampleRecording('live');
    for (const r of [a, b]) await store.catalog.addRecording(r.rec, r.files);
    assert.deepEqual(await store.catalog.uploadBacklog(), { files: 0, bytes: 0, oldestCreatedAt: undefined });
    await store.queue.enqueue(a.rec.recordingId, [a.files[0].name, a.files[1].name]);
    const backlog = await store.catalog.uploadBacklog();
    assert.equal(backlog.files, 2);
    assert.equal(backlog.bytes, a.files[0].size + a.files[1].size);
    assert.ok(backlog.oldestCreatedAt && Date.parse(backlog.oldestCreatedAt) <= Date.now());
    assert.equal(await store.catalog.deleteRecording(a.rec.recordingId), true);
    assert.equal(await store.catalog.deleteRecording(a.rec.recordingId), false);
    assert.equal(await store.catalog.getRecording(a.rec.recordingId), undefined);
    assert.equal(await store.catalog.findFile('live', a.files[0].name), undefined);
    assert.equal((await store.catalog.uploadBacklog()).files, 0, 'its queued files are gone too');
    assert.equal(await store.queue.claim('n', 60_000), undefined);
    assert.ok(await store.catalog.getRecording(b.rec.recordingId));
  });

  withStore('jobs are claimed oldest first, once, under a lease that can be renewed and expires', async ({ store }) => {
    const { rec, files } = sampleRecording();
    await store.catalog.addRecording(rec, files);
    await store.queue.enqueue(rec.recordingId, [files[0].name, files[1].name]);
    const j1 = await store.queue.claim('node-a', 60_000);
    assert.equal(j1?.file.name, files[0].name);
    assert.equal(j1?.recording.streamId, rec.streamId);
    assert.equal(j1?.file.state, 'uploading');
    assert.equal(j1?.file.claims, 1);
    const j2 = await store.queue.claim('node-b', 60_000);
    assert.equal(j2?.file.name, files[1].name);
    assert.equal(await store.queue.claim('node-b', 60_000), undefined, 'nothing else is due');
    assert.equal(await store.queue.renew(j1!.file.id, 'node-b', 60_000), false, 'only the owner renews');
    assert.equal(await store.queue.renew(j1!.file.id, 'node-a', 30), true);
    await new Promise((r) => setTimeout(r, 60));
    const taken = await store.queue.claim('node-b', 60_000);
    assert.equal(taken?.file.id, j1!.file.id, 'an expired lease is taken over');
    assert.equal(taken?.file.claims, 2);
    await store.queue.complete(j1!.file.id, 'node-a', result('k'));
    assert.equal((await store.catalog.getRecording(rec.recordingId))!.files[0].state, 'uploading', 'a node that lost its lease changes nothing');
    await store.queue.complete(j1!.file.id, 'node-b', result('k'));
    const f = (await store.catalog.getRecording(rec.recordingId))!.files[0];
    assert.equal(f.state, 'uploaded');
    assert.equal(f.key, 'k');
    assert.equal(f.sha256, 'ab'.repeat(32));
    assert.equal(f.verifiedBy, 'head');
    assert.equal(f.leaseOwner, undefined);
  });

  withStore('the sidecar waits for every other queued file of its recording', async ({ store }) => {
    const { rec, files } = sampleRecording();
    await store.catalog.addRecording(rec, files);
    // The poster stays local (not uploaded): it must not block the sidecar.
    const uploaded = files.filter((f) => f.kind !== 'poster').map((f) => f.name);
    await store.queue.enqueue(rec.recordingId, uploaded);
    const seen: string[] = [];
    for (;;) {
      const j = await store.queue.claim('n', 60_000);
      if (!j) break;
      seen.push(j.file.kind);
      if (j.file.kind === 'hls-segment' && j.file.name.endsWith('_00001.ts')) {
        await store.queue.fail(j.file.id, 'n', { code: 'access_denied', message: 'denied' });
        continue;
      }
      await store.queue.complete(j.file.id, 'n', result(j.file.name));
    }
    assert.ok(!seen.includes('metadata'), 'a failed sibling holds the sidecar back');
    assert.equal(await store.queue.retryFailed({ recordingId: rec.recordingId }), 1);
    const seg = await store.queue.claim('n', 60_000);
    assert.equal(seg?.file.kind, 'hls-segment');
    assert.equal(await store.queue.claim('n', 60_000), undefined, 'the sidecar waits while a sibling uploads');
    await store.queue.complete(seg!.file.id, 'n', result('s'));
    const side = await store.queue.claim('n', 60_000);
    assert.equal(side?.file.kind, 'metadata');
    assert.equal(side?.file.localPath, null);
  });

  withStore('retryable failures count attempts and wait; permanent ones wait for a retry', async ({ store }) => {
    const a = sampleRecording('live');
    const b = sampleRecording('other');
    for (const r of [a, b]) {
      await store.catalog.addRecording(r.rec, r.files);
      await store.queue.enqueue(r.rec.recordingId, r.files.slice(0, 2).map((f) => f.name));
    }
    const j = await store.queue.claim('n', 60_000, { excludeApps: ['other'] });
    assert.equal(j?.recording.app, 'live', 'excluded apps are skipped');
    const at = Date.now() + 60_000;
    await store.queue.retryLater(j!.file.id, 'n', at, { code: 'unreachable', message: 'down' });
    const after = (await store.catalog.getRecording(a.rec.recordingId))!.files[0];
    assert.equal(after.state, 'queued');
    assert.equal(after.attempts, 1);
    assert.equal(after.errorClass, 'retryable');
    assert.equal(after.lastError, 'down');
    assert.equal(after.nextAttemptAt, at);
    const next = await store.queue.claim('n', 60_000, { excludeApps: ['other'] });
    assert.equal(next?.file.name, a.files[1].name, 'the failed file is not due yet');
    await store.queue.fail(next!.file.id, 'n', { code: 'bucket_not_found', message: 'no bucket' });
    assert.equal(await store.queue.nextDueAt({ excludeApps: ['other'] }), at);
    assert.equal(await store.queue.failQueued('live', { code: 'bucket_not_found', message: 'no bucket' }), 1);
    const counts = await store.catalog.countByState('live');
    assert.equal(counts.failed, 2);
    assert.equal(counts.queued, 0);
    assert.equal(counts.local, a.files.length - 2);
    const failed = (await store.catalog.getRecording(a.rec.recordingId))!.files[1];
    assert.equal(failed.errorClass, 'permanent');
    assert.equal(failed.errorCode, 'bucket_not_found');
    assert.equal(await store.queue.retryFailed({ app: 'other' }), 0);
    assert.equal(await store.queue.retryFailed({ app: 'live' }), 2);
    assert.equal((await store.catalog.countByState('live')).queued, 2);
  });

  withStore('a multipart upload in flight is remembered until completed, and leases come back after a restart', async ({ store }) => {
    const { rec, files } = sampleRecording();
    await store.catalog.addRecording(rec, files);
    await store.queue.enqueue(rec.recordingId, [files[0].name, files[1].name]);
    const j = await store.queue.claim('node-1', 60_000);
    await store.queue.setMultipart(j!.file.id, { uploadId: 'u-1', bucket: 'b', key: 'k' });
    await store.queue.claim('node-1', 60_000);
    assert.equal(await store.queue.releaseOwner('node-1'), 2);
    const again = await store.queue.claim('node-1', 60_000);
    assert.deepEqual(again?.file.multipart, { uploadId: 'u-1', bucket: 'b', key: 'k' });
    await store.queue.release(again!.file.id, 'node-1');
    const third = await store.queue.claim('node-1', 60_000);
    assert.equal(third?.file.id, again!.file.id);
    assert.equal(third?.file.attempts, 0, 'a released lease is not a failed attempt');
    await store.queue.complete(third!.file.id, 'node-1', result('k'));
    assert.equal((await store.catalog.getRecording(rec.recordingId))!.files[0].multipart, undefined);
  });

  withStore('the parts of a multipart upload are recorded as acknowledged, kept across claims, and forgotten with the upload', async ({ store }) => {
    const { rec, files } = sampleRecording();
    await store.catalog.addRecording(rec, files);
    await store.queue.enqueue(rec.recordingId, [files[0].name]);
    const j = (await store.queue.claim('node-1', 60_000))!;
    const ref = { uploadId: 'u-1', bucket: 'b', key: 'k', partSize: 5 * 1024 * 1024 };
    await store.queue.setMultipart(j.file.id, ref);
    const p1 = { partNumber: 1, size: ref.partSize, etag: 'e1', checksum: 'bWQ1LTE=' };
    const p3 = { partNumber: 3, size: 7, etag: 'e3', checksum: 'bWQ1LTM=' };
    await store.queue.addPart(j.file.id, 'u-1', p3);
    await store.queue.addPart(j.file.id, 'u-1', p1);
    await store.queue.addPart(j.file.id, 'u-1', p1); // an answer recorded twice stays one part
    assert.equal(await store.queue.releaseOwner('node-1'), 1);
    const again = (await store.queue.claim('node-1', 60_000))!;
    assert.deepEqual(again.file.multipart, ref, 'the part size comes back with the upload');
    assert.deepEqual(await store.queue.parts(again.file.id, 'u-1'), [p1, p3], 'by part number');
    assert.deepEqual(await store.queue.parts(again.file.id, 'u-other'), []);
    await store.queue.setMultipart(again.file.id, { ...ref, uploadId: 'u-2' });
    assert.deepEqual(await store.queue.parts(again.file.id, 'u-1'), [], 'a new upload starts without the old one\'s parts');
    await store.queue.addPart(again.file.id, 'u-2', p1);
    await store.queue.complete(again.file.id, 'node-1', result('k'));
    assert.deepEqual(await store.queue.parts(again.file.id, 'u-2'), [], 'completion forgets them');
  });

  withStore('uploaded local copies are found by recording end and marked deleted', async ({ store }) => {
    const old = sampleRecording('live', new Date(Date.now() - 10 * 86_400_000));
    const fresh = sampleRecording('live', new Date());
    for (const r of [old, fresh]) {
      await store.catalog.addRecording(r.rec, r.files);
      await store.queue.enqueue(r.rec.recordingId, [r.files[0].name]);
      const j = await store.queue.claim('n', 60_000);
      await store.queue.complete(j!.file.id, 'n', result(j!.file.name));
    }
    const due = await store.catalog.uploadedLocalCopies('live', new Date(Date.now() - 86_400_000), 10);
    assert.deepEqual(due.map((f) => f.name), [old.files[0].name]);
    await store.catalog.markLocalDeleted(due[0].id);
    assert.deepEqual(await store.catalog.uploadedLocalCopies('live', new Date(Date.now() - 86_400_000), 10), []);
    assert.equal((await store.catalog.uploadedLocalCopies('live', new Date(Date.now() + 60_000), 10)).length, 1);
    assert.ok((await store.catalog.getRecording(old.rec.recordingId))!.files[0].localDeletedAt);
  });

  withStore('credentials: create, get, page through, rename, reveal, delete; the secret is never shown', async ({ store }) => {
    const c = store.credentials;
    const made = await c.create({ credentials: 'AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', friendlyName: 'prod' });
    assert.match(made.id, /^CR[0-9a-f]{32}$/);
    assert.equal(made.accessKeyIdHint, 'AKIA…MPLE');
    assert.ok(!JSON.stringify(made).includes('wJalr'), 'no secret in the record');
    assert.deepEqual(await c.get(made.id), made);
    assert.deepEqual(await c.reveal(made.id), { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' });
    for (let i = 0; i < 4; i++) await c.create({ credentials: `AKID${i}XXXXXXXX:secret-${i}-xxxx` });
    const ids: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await c.list({ pageSize: 2, pageToken: token });
      ids.push(...page.items.map((x) => x.id));
      token = page.nextPageToken;
      pages++;
    } while (token);
    assert.equal(pages, 3);
    assert.equal(new Set(ids).size, 5);
    const first = await c.list({ pageSize: 2 });
    assert.equal(first.previousPageToken, undefined, 'the first page has no page before it');
    const second = await c.list({ pageSize: 2, pageToken: first.nextPageToken });
    const back = await c.list({ pageSize: 2, pageToken: second.previousPageToken });
    assert.deepEqual(back.items.map((x) => x.id), first.items.map((x) => x.id), 'the previous page of page 2 is page 1');
    assert.equal(back.previousPageToken, undefined);
    assert.deepEqual((await c.list({ pageSize: 2, pageToken: back.nextPageToken })).items, second.items);
    await assert.rejects(c.list({ pageToken: 'bm9wZQ' }), /page token is not valid/);
    const renamed = await c.updateFriendlyName(made.id, 'renamed');
    assert.equal(renamed.friendlyName, 'renamed');
    await assert.rejects(c.updateFriendlyName(made.id, 'x'.repeat(65)), /at most 64/);
    await assert.rejects(c.create({ credentials: 'x'.repeat(10), friendlyName: 'a' }), (e: Error) => /AWS_ACCESS_KEY_ID/.test(e.message) && !e.message.includes('xxxxxxxxxx'));
    await assert.rejects(c.create({ credentials: 'AKID:secret', friendlyName: 'y'.repeat(65) }), /at most 64/);
    await assert.rejects(c.updateFriendlyName('CR' + '0'.repeat(32), 'x'), /no stored credential/);
    assert.equal(await c.delete(made.id), true);
    assert.equal(await c.delete(made.id), false);
    assert.equal(await c.get(made.id), undefined);
    assert.equal(await c.reveal(made.id), undefined);
  });

  withStore('what was written survives reopening', async (h) => {
    const { rec, files } = sampleRecording();
    await h.store.catalog.addRecording(rec, files);
    await h.store.queue.enqueue(rec.recordingId, [files[0].name]);
    const cred = await h.store.credentials.create({ credentials: 'AKIDREOPEN123:s3cr3t-value', friendlyName: 'r' });
    const store = await h.reopen();
    const got = await store.catalog.getRecording(rec.recordingId);
    assert.equal(got?.files[0].state, 'queued');
    assert.equal((await store.credentials.reveal(cred.id))?.secretAccessKey, 's3cr3t-value');
  });

  adminStoreSuite(withStore);
}
