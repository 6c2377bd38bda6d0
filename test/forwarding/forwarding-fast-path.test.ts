/**
 * The media URLs' fast path. The catalog cache answers
 * repeated requests without the catalog and follows upload events; the local
 * file index follows the folders as files appear, are replaced and go away;
 * the checks (path guard, methods, CORS, draining) still hold on the fast path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, unlinkSync, renameSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CatalogCache } from '../../src/forwarding/catalog-cache.js';
import { LocalFileIndex } from '../../src/http/local-file-index.js';
import { EventBus } from '../../src/events/event-bus.js';
import type { BusEvents } from '../../src/events/types.js';
import { MemoryLocator } from '../helpers/fwd-bucket.js';
import { startForwardingServer } from '../helpers/fwd-server.js';

const OBJ = { bucket: 'b', key: 'live/2026/x.mp4' };

/** Waits until `check()` holds (file system events arrive asynchronously). */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('catalog cache: one lookup per name, misses expire sooner, concurrent misses share a lookup, failures are not kept', async () => {
  let now = 0;
  const inner = new MemoryLocator();
  const cache = new CatalogCache(inner, { ttlMs: 60_000, missTtlMs: 2_000, now: () => now, maxEntries: 3 });
  inner.add('live', 'streams', 'x.mp4', OBJ);
  assert.equal(cache.peek('live', 'streams', 'x.mp4'), undefined, 'nothing known yet');
  const pending = cache.locate('live', 'streams', 'x.mp4');
  assert.equal(cache.peek('live', 'streams', 'x.mp4'), undefined, 'not settled yet');
  assert.deepEqual(await pending, OBJ);
  assert.deepEqual(cache.peek('live', 'streams', 'x.mp4'), { object: OBJ }, 'settled: answered without waiting');
  assert.deepEqual(await cache.locate('live', 'streams', 'x.mp4'), OBJ);
  assert.equal(inner.lookups, 1);
  await Promise.all([1, 2, 3].map(() => cache.locate('live', 'streams', 'y.mp4')));
  assert.equal(inner.lookups, 2, 'three concurrent misses, one lookup');
  inner.add('live', 'streams', 'y.mp4', OBJ);
  now = 1_000;
  assert.equal(await cache.locate('live', 'streams', 'y.mp4'), undefined, 'a miss is kept for missTtlMs');
  now = 2_500;
  assert.deepEqual(await cache.locate('live', 'streams', 'y.mp4'), OBJ, 'then asked again');
  now = 70_000;
  assert.equal(cache.peek('live', 'streams', 'x.mp4'), undefined, 'expired');
  await cache.locate('live', 'streams', 'x.mp4');
  assert.equal(inner.lookups, 4, 'a found object is asked again after ttlMs');
  inner.failWith = new Error('database is locked');
  await assert.rejects(cache.locate('live', 'streams', 'z.mp4'), /locked/);
  inner.failWith = undefined;
  assert.equal(await cache.locate('live', 'streams', 'z.mp4'), undefined, 'a failed lookup is not cached');
  for (const n of ['a', 'b', 'c', 'd']) await cache.locate('live', 'streams', `${n}.mp4`);
  assert.ok(cache.size <= 3, `bounded (${cache.size})`);
});

test('upload.completed refreshes the cached name at once: the next request is forwarded to the new object', async () => {
  const locator = new MemoryLocator();
  const events = new EventBus<BusEvents>();
  const server = await startForwardingServer({ apps: [{ name: 'live', httpForwardingBaseURL: 'https://cdn.example.com' }], locator, events });
  try {
    const get = () => fetch(`${server.url}/live/streams/cam1_1.mp4`, { redirect: 'manual' });
    assert.equal((await get()).headers.get('location'), 'https://cdn.example.com/streams/cam1_1.mp4', 'unknown: plain mapping');
    locator.add('live', 'streams', 'cam1_1.mp4', { bucket: 'b', key: 'live/2026/12/04/cam1_1.mp4' });
    assert.equal((await get()).headers.get('location'), 'https://cdn.example.com/streams/cam1_1.mp4', 'the miss is cached');
    const lookups = locator.lookups;
    await events.emit('upload.completed', {
      app: 'live', recordingId: 'r', streamId: 'cam1', kind: 'mp4', name: 'cam1_1.mp4', bucket: 'b', key: 'live/2026/12/04/cam1_1.mp4',
      size: 1, sha256: '', etag: '', url: '', verifiedBy: 'head', localDeleted: true,
    });
    assert.equal((await get()).headers.get('location'), 'https://cdn.example.com/live/2026/12/04/cam1_1.mp4');
    assert.equal(locator.lookups, lookups + 1);
    await get();
    assert.equal(locator.lookups, lookups + 1, 'cached again');
  } finally {
    await server.stop();
  }
  assert.equal(events.listenerCount('upload.completed'), 0, 'stop() removed the listener');
});

test('local file index: files appearing, renamed into place, replaced and deleted are seen; a folder that goes away falls back to stat', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bc-index-'));
  const index = new LocalFileIndex();
  try {
    writeFileSync(path.join(dir, 'old.mp4'), 'x');
    mkdirSync(path.join(dir, 'sub.mp4'));
    assert.equal(index.has(dir, 'old.mp4'), true, 'listed at first use');
    assert.equal(index.has(dir, 'sub.mp4'), false, 'folders are not files');
    assert.equal(index.size, 1);
    writeFileSync(path.join(dir, 'new.ts'), 'x');
    await until(() => index.has(dir, 'new.ts'), 'a new file');
    writeFileSync(path.join(dir, 'seg.ts.tmp'), 'x');
    renameSync(path.join(dir, 'seg.ts.tmp'), path.join(dir, 'seg.ts'));
    await until(() => index.has(dir, 'seg.ts') && !index.has(dir, 'seg.ts.tmp'), 'a file renamed into place');
    unlinkSync(path.join(dir, 'old.mp4'));
    await until(() => !index.has(dir, 'old.mp4'), 'a deleted file');
    rmSync(dir, { recursive: true, force: true });
    await until(() => index.size === 0, 'the removed folder dropped');
    assert.equal(index.has(dir, 'seg.ts'), false, 'stat: nothing there');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'back.mp4'), 'x');
    assert.equal(index.has(dir, 'back.mp4'), true, 'a recreated folder answers at once (stat, then indexed again)');
  } finally {
    await index.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the fast path keeps every check: a file written after the first request is served locally, one deleted is forwarded again', async () => {
  const server = await startForwardingServer({ apps: [{ name: 'live', httpForwardingBaseURL: 'https://cdn.example.com', cors: { allowedOrigins: ['https://site.example'] } }] });
  try {
    const url = `${server.url}/live/streams/rec.mp4`;
    assert.equal((await fetch(url, { redirect: 'manual' })).status, 302);
    const file = path.join(server.layout.streamsDir('live'), 'rec.mp4');
    writeFileSync(file, '0123456789');
    let r = await fetch(url, { headers: { Range: 'bytes=2-4', Origin: 'https://site.example' } });
    for (let i = 0; r.status !== 206 && i < 100; i++) {
      await new Promise((res) => setTimeout(res, 10)); // the inotify event may trail the write by a moment
      r = await fetch(url, { headers: { Range: 'bytes=2-4', Origin: 'https://site.example' } });
    }
    assert.equal(r.status, 206);
    assert.equal(await r.text(), '234');
    assert.equal(r.headers.get('access-control-allow-origin'), 'https://site.example');
    assert.equal(r.headers.get('vary'), 'Origin');
    assert.ok(r.headers.get('etag') && r.headers.get('last-modified'));
    assert.equal(r.headers.get('cache-control'), 'public, max-age=3600');
    unlinkSync(file);
    let back = await fetch(url, { redirect: 'manual' });
    for (let i = 0; back.status !== 302 && i < 100; i++) back = await fetch(url, { redirect: 'manual' });
    assert.equal(back.status, 302, 'deleted (uploaded): forwarded again, never a 500');
    const bad = await fetch(`${server.url}/live/streams/%2e%2e%2fsecret.mp4`);
    assert.equal(bad.status, 400);
    const post = await fetch(url, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD, OPTIONS');
    const name = await fetch(`${server.url}/live/streams/.hidden.mp4`);
    assert.equal(name.status, 400);
    const other = await fetch(`${server.url}/nope/streams/rec.mp4`);
    assert.equal(other.status, 404, 'unknown app: express answers');
  } finally {
    await server.stop();
  }
});
