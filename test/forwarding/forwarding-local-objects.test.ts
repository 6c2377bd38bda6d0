/**
 * Forwarding side of the filesystem target: an uploaded object that the app's storage
 * target keeps as a plain file on this machine (`<dataDir>/bucket/<key>`, the
 * filesystem target) is served by forwarding from that file, in every mode:
 * Range, HEAD, ETag/Last-Modified and conditional requests, the right content
 * type, and nothing signed or redirected. A tiny resolver over a real folder
 * stands in for the storage module's `ObjectAccess`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, mkdirSync, copyFileSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MemoryLocator, sdkSigner } from '../helpers/fwd-bucket.js';
import { startForwardingServer, makeRecording, type FwdServer, type TestRecording } from '../helpers/fwd-server.js';
import type { LocalObjectResolver } from '../../src/forwarding/types.js';

const KEY_DIR = 'live/2026/12/04/cam1_20261204T101500Z';
const MODES = { redir: { httpForwardingBaseURL: 'https://cdn.example.com' }, signed: { httpForwardingMode: 'presigned' }, proxied: {} };
let root: string;
let rec: TestRecording;
let server: FwdServer;
const signer = sdkSigner('http://127.0.0.1:9', 'bucket');
const asked: string[] = [];

/** The filesystem target's layout: `<root>/<bucket>/<key>`; undefined for other buckets and for keys that leave the bucket. */
const resolver: LocalObjectResolver = {
  localPath(app, bucket, key) {
    asked.push(`${app} ${bucket} ${key}`);
    if (bucket !== 'bucket') return undefined;
    const p = path.join(root, bucket, key);
    return p.startsWith(path.join(root, bucket) + path.sep) ? p : undefined;
  },
};

before(async () => {
  rec = await makeRecording('cam1_20261204T101500Z', 4);
  root = mkdtempSync(path.join(os.tmpdir(), 'bc-fs-target-'));
  mkdirSync(path.join(root, 'bucket', KEY_DIR), { recursive: true });
  const locator = new MemoryLocator();
  for (const f of [rec.mp4, rec.playlist, ...rec.segments, rec.poster]) {
    copyFileSync(f, path.join(root, 'bucket', KEY_DIR, path.basename(f)));
    for (const app of Object.keys(MODES)) {
      locator.add(app, f === rec.poster ? 'previews' : 'streams', path.basename(f), { bucket: 'bucket', key: `${KEY_DIR}/${path.basename(f)}` });
      locator.add(app, 'streams', 'elsewhere.mp4', { bucket: 'other-bucket', key: 'x/elsewhere.mp4' });
      locator.add(app, 'streams', 'deleted.mp4', { bucket: 'bucket', key: `${KEY_DIR}/deleted.mp4` });
    }
  }
  server = await startForwardingServer({
    apps: Object.entries(MODES).map(([name, s]) => ({ name, httpForwardingExtension: 'mp4,m3u8', ...s })),
    locator,
    signer,
    localObjects: resolver,
  });
});

after(async () => {
  await server?.stop();
  rmSync(root, { recursive: true, force: true });
  rmSync(rec.dir, { recursive: true, force: true });
});

const get = (p: string, init: RequestInit = {}) => fetch(`${server.url}${p}`, { redirect: 'manual', ...init });
/** Status of a GET sent as given (fetch adds `Cache-Control: no-cache` to conditional requests, which rightly defeats them). */
const rawStatus = (p: string, headers: Record<string, string>) =>
  new Promise<number>((resolve, reject) => {
    http.get(`${server.url}${p}`, { headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });

test('an object on the filesystem target is served from its file in every mode, with Range, HEAD and conditional requests', async () => {
  const bytes = readFileSync(rec.mp4);
  const size = bytes.length;
  for (const app of Object.keys(MODES)) {
    const url = `/${app}/streams/${rec.name}.mp4`;
    const full = await get(url);
    assert.equal(full.status, 200, app);
    assert.equal(full.headers.get('content-type'), 'video/mp4');
    assert.equal(full.headers.get('accept-ranges'), 'bytes');
    assert.equal(full.headers.get('content-length'), String(size));
    assert.equal(full.headers.get('cache-control'), 'public, max-age=3600');
    assert.ok(Buffer.from(await full.arrayBuffer()).equals(bytes), `${app}: the stored bytes`);
    const etag = full.headers.get('etag')!;
    const modified = full.headers.get('last-modified')!;
    assert.ok(etag && modified, 'ETag and Last-Modified');
    assert.equal(new Date(modified).getTime(), Math.floor(statSync(path.join(root, 'bucket', KEY_DIR, `${rec.name}.mp4`)).mtimeMs / 1000) * 1000);

    const ranged = await get(url, { headers: { Range: 'bytes=100-199' } });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get('content-range'), `bytes 100-199/${size}`);
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(bytes.subarray(100, 200)));
    const tail = await get(url, { headers: { Range: 'bytes=-50' } });
    assert.equal(tail.status, 206);
    assert.ok(Buffer.from(await tail.arrayBuffer()).equals(bytes.subarray(size - 50)));
    const beyond = await get(url, { headers: { Range: `bytes=${size + 1}-` } });
    assert.equal(beyond.status, 416);
    assert.equal(beyond.headers.get('content-range'), `bytes */${size}`);
    assert.equal(((await beyond.json()) as { error: { code: string } }).error.code, 'range_not_satisfiable');

    const head = await get(url, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(size));
    assert.equal((await head.arrayBuffer()).byteLength, 0);
    assert.equal(await rawStatus(url, { 'If-None-Match': etag }), 304);
    assert.equal(await rawStatus(url, { 'If-Modified-Since': modified }), 304);
    assert.equal(await rawStatus(url, { 'If-None-Match': etag, 'Cache-Control': 'no-cache' }), 200, 'an end-to-end reload is not answered from the cache');
    assert.equal(await rawStatus(url, { 'If-Match': '"something-else"' }), 412);
    const stale = await get(url, { headers: { Range: 'bytes=0-9', 'If-Range': '"other"' } });
    assert.equal(stale.status, 200, 'If-Range with another ETag: the whole file');
    await stale.arrayBuffer();
  }
  assert.equal(signer.calls, 0, 'nothing signed');
});

test('HLS and posters from the filesystem target: playlist no-cache, segments and poster with their types', async () => {
  const pl = await get(`/signed/streams/${rec.name}.m3u8`);
  assert.equal(pl.status, 200);
  assert.equal(pl.headers.get('content-type'), 'application/vnd.apple.mpegurl');
  assert.equal(pl.headers.get('cache-control'), 'no-cache');
  const first = (await pl.text()).split('\n').find((l) => l.endsWith('.ts'))!;
  const seg = await get(`/signed/streams/${first}`);
  assert.equal(seg.status, 200);
  assert.equal(seg.headers.get('content-type'), 'video/mp2t');
  assert.ok(Buffer.from(await seg.arrayBuffer()).equals(readFileSync(path.join(rec.dir, first))));
  const poster = await get(`/proxied/previews/${rec.name}.webp`);
  assert.equal(poster.status, 200);
  assert.equal(poster.headers.get('content-type'), 'image/webp');
  await poster.arrayBuffer();
});

test('objects elsewhere keep the mode; a file gone from the target is 404, never a 500', async () => {
  const r = await get('/redir/streams/elsewhere.mp4');
  assert.equal(r.status, 302, 'another bucket: forwarded as before');
  assert.equal(r.headers.get('location'), 'https://cdn.example.com/x/elsewhere.mp4');
  assert.ok(!existsSync(path.join(root, 'bucket', KEY_DIR, 'deleted.mp4')));
  for (const app of Object.keys(MODES)) {
    const gone = await get(`/${app}/streams/deleted.mp4`);
    assert.equal(gone.status, 404, app);
    assert.equal(((await gone.json()) as { error: { code: string } }).error.code, 'not_found');
  }
  assert.ok(asked.some((a) => a === `redir bucket ${KEY_DIR}/${rec.name}.mp4`), 'the resolver got app, bucket and key');
});
