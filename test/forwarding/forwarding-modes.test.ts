/**
 * Every forwarding mode and resolution case, in-process against a real
 * bucket (s3rver on loopback), a real SDK pre-signer, and a private-bucket gate
 * that checks signatures the way S3 does. One server, one app per mode.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync, writeFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { startBucket, startPrivateGate, sdkSigner, MemoryLocator, type TestBucket, type PrivateGate } from '../helpers/fwd-bucket.js';
import { startForwardingServer, makeRecording, type FwdServer, type TestRecording } from '../helpers/fwd-server.js';

let bucket: TestBucket;
let gate: PrivateGate;
let server: FwdServer;
let rec: TestRecording;
let origin: SlowOrigin;
const locator = new MemoryLocator();
let signer: ReturnType<typeof sdkSigner>;
const EXT = 'mp4,m3u8,jpg,webp';
const KEY_DIR = 'live/2026/11/22/cam1_20261122T185003Z';
/** One app per way of forwarding. */
const APPS = {
  redir: () => ({ httpForwardingBaseURL: bucket.url }),
  signed: () => ({ httpForwardingMode: 'presigned', httpForwardingPresignExpirySeconds: 120 }),
  proxied: () => ({}), // auto without a base URL: proxy from the app's own (private) bucket
  cdn: () => ({ httpForwardingMode: 'proxy', httpForwardingBaseURL: bucket.url }),
};
type Mode = keyof typeof APPS;
const MODES = Object.keys(APPS) as Mode[];

before(async () => {
  [bucket, rec] = await Promise.all([startBucket(), makeRecording('cam1_20261122T185003Z', 4)]);
  gate = await startPrivateGate(bucket);
  origin = await startSlowOrigin();
  await bucket.putFile(`${KEY_DIR}/${rec.name}.mp4`, rec.mp4);
  await bucket.putFile(`${KEY_DIR}/${rec.name}.m3u8`, rec.playlist);
  for (const s of rec.segments) await bucket.putFile(`${KEY_DIR}/${path.basename(s)}`, s);
  await bucket.putFile(`${KEY_DIR}/${rec.name}.webp`, rec.poster);
  await bucket.putFile('streams/plain.mp4', rec.mp4);
  await bucket.put('streams/other.flv', 'FLV');
  await bucket.put('streams/plain.xmp4', 'X');
  await bucket.put('previews/plain.jpg', 'JPEG');
  for (const app of MODES) {
    const files = [`${rec.name}.mp4`, `${rec.name}.m3u8`, ...rec.segments.map((s) => path.basename(s))];
    for (const f of files) locator.add(app, 'streams', f, { bucket: bucket.bucket, key: `${KEY_DIR}/${f}` });
    locator.add(app, 'previews', `${rec.name}.webp`, { bucket: bucket.bucket, key: `${KEY_DIR}/${rec.name}.webp` });
    locator.add(app, 'streams', 'local.mp4', { bucket: bucket.bucket, key: 'streams/plain.mp4' });
  }
  server = await startForwardingServer({
    apps: [
      ...MODES.map((name) => ({ name, httpForwardingExtension: EXT, ...APPS[name]() })),
      { name: 'slow', httpForwardingMode: 'proxy', httpForwardingBaseURL: origin.url },
      { name: 'down', httpForwardingMode: 'proxy', httpForwardingBaseURL: 'http://127.0.0.1:9' },
    ],
    locator,
    signer: (signer = sdkSigner(gate.endpoint, bucket.bucket)),
  });
  for (const app of MODES) writeFileSync(path.join(server.layout.streamsDir(app), 'local.mp4'), 'LOCAL');
});

after(async () => {
  await server?.stop();
  await gate?.stop();
  await origin?.stop();
  await bucket?.stop();
});

const mp4Bytes = () => readFileSync(rec.mp4);
const get = (p: string, init: RequestInit = {}) => fetch(`${server.url}${p}`, { redirect: 'manual', ...init });
/** Follows the server's answer to the bytes, as a browser would. */
const download = async (p: string, init: RequestInit = {}) => {
  const r = await fetch(`${server.url}${p}`, init);
  return { status: r.status, headers: r.headers, body: Buffer.from(await r.arrayBuffer()) };
};

test('a file on local disk is served locally in every mode, before the catalog is asked', async () => {
  for (const app of MODES) {
    const lookups = locator.lookups;
    const r = await get(`/${app}/streams/local.mp4`);
    assert.equal(r.status, 200, app);
    assert.equal(await r.text(), 'LOCAL', app);
    assert.equal(locator.lookups, lookups, `${app}: catalog not consulted for a local file`);
  }
});

test('a file the catalog knows is forwarded to its real (date-folder) key in every mode', async () => {
  for (const app of MODES) {
    const got = await download(`/${app}/streams/${rec.name}.mp4`);
    assert.equal(got.status, 200, app);
    assert.ok(got.body.equals(mp4Bytes()), `${app}: the uploaded bytes`);
    const poster = await download(`/${app}/previews/${rec.name}.webp`);
    assert.equal(poster.status, 200, `${app} poster`);
    assert.ok(poster.body.equals(readFileSync(rec.poster)), `${app} poster bytes`);
  }
  const r = await get(`/redir/streams/${rec.name}.mp4`);
  assert.equal(r.status, 302);
  assert.equal(r.headers.get('location'), `${bucket.url}/${KEY_DIR}/${rec.name}.mp4`);
});

test('a name unknown to the catalog uses the plain mapping <base>/streams/<file> and <base>/previews/<file> where a base URL is set', async () => {
  for (const app of ['redir', 'cdn'] as const) {
    const got = await download(`/${app}/streams/plain.mp4`);
    assert.equal(got.status, 200, app);
    assert.ok(got.body.equals(mp4Bytes()), app);
    const jpg = await download(`/${app}/previews/plain.jpg`);
    assert.equal(jpg.status, 200, `${app} preview`);
    assert.equal(jpg.body.toString(), 'JPEG');
    assert.equal(jpg.headers.get('content-type'), 'image/jpeg');
  }
  assert.equal((await get('/redir/streams/plain.mp4')).headers.get('location'), `${bucket.url}/streams/plain.mp4`);
  assert.equal((await get('/redir/previews/plain.jpg')).headers.get('location'), `${bucket.url}/previews/plain.jpg`);
});

test('where the server signs (presigned, proxy without a base URL), only objects the catalog knows are served', async () => {
  // streams/plain.mp4 and previews/plain.jpg sit at the bucket root; bucketcast never recorded them.
  const signs = signer.calls;
  const reached = gate.seen.length;
  for (const app of ['signed', 'proxied'] as const) {
    for (const p of ['streams/plain.mp4', 'previews/plain.jpg', `streams/${rec.name}.mp4x`]) {
      for (const method of ['GET', 'HEAD']) {
        const r = await get(`/${app}/${p}`, { method });
        assert.equal(r.status, 404, `${method} ${app}/${p}`);
        assert.equal(r.headers.get('location'), null, `${app}/${p}: no signed URL handed out`);
        if (method === 'GET') assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'not_found');
      }
    }
    // A name the catalog knows under another folder is not found under this one either.
    assert.equal((await get(`/${app}/previews/${rec.name}.mp4`)).status, 404, app);
  }
  assert.equal(signer.calls, signs, 'nothing was signed for an unknown name');
  assert.equal(gate.seen.length, reached, 'no request reached the bucket');
  // The known recording still plays in both modes.
  for (const app of ['signed', 'proxied'] as const) assert.equal((await download(`/${app}/streams/${rec.name}.mp4`)).status, 200, app);
});

test('extensions not in httpForwardingExtension are never forwarded (exact match)', async () => {
  for (const app of MODES) {
    for (const f of ['other.flv', 'plain.xmp4', 'plain.mp4x', 'plain.png']) {
      const r = await get(`/${app}/streams/${f}`);
      assert.equal(r.status, 404, `${app} ${f}`);
      assert.equal(r.headers.get('location'), null);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'not_found');
    }
  }
});

test('redirect: 302 to base + key with the query string kept, for GET and HEAD', async () => {
  const r = await get('/redir/streams/plain.mp4?token=a%20b&exp=17&u=//evil.com');
  assert.equal(r.status, 302);
  assert.equal(r.headers.get('location'), `${bucket.url}/streams/plain.mp4?token=a%20b&exp=17&u=//evil.com`);
  const head = await get(`/redir/streams/${rec.name}.m3u8`, { method: 'HEAD' });
  assert.equal(head.status, 302);
  assert.equal(head.headers.get('location'), `${bucket.url}/${KEY_DIR}/${rec.name}.m3u8`);
  // A name the bucket does not have is still redirected (Ant Media does the same); the bucket answers.
  const missing = await download('/redir/streams/nothing.mp4');
  assert.equal(missing.status, 404);
});

test('presigned: 302 to a URL signed for the method, with the configured expiry; the private bucket refuses anything else', async () => {
  const r = await get(`/signed/streams/${rec.name}.mp4`);
  assert.equal(r.status, 302);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  const signed = new URL(r.headers.get('location')!);
  assert.equal(signed.origin, gate.endpoint);
  assert.equal(signed.pathname, `/${bucket.bucket}/${KEY_DIR}/${rec.name}.mp4`);
  assert.equal(signed.searchParams.get('X-Amz-Expires'), '120');
  const body = Buffer.from(await (await fetch(signed)).arrayBuffer());
  assert.ok(body.equals(mp4Bytes()));
  // The URL signed for GET is refused for HEAD, as on S3; the server signs HEAD for HEAD.
  assert.equal((await fetch(signed, { method: 'HEAD' })).status, 403);
  const head = await get(`/signed/streams/${rec.name}.mp4`, { method: 'HEAD' });
  const headUrl = head.headers.get('location')!;
  const headed = await fetch(headUrl, { method: 'HEAD' });
  assert.equal(headed.status, 200);
  assert.equal(headed.headers.get('content-length'), String(statSync(rec.mp4).size));
  // Tampering and anonymous access are refused by the bucket.
  const tampered = new URL(signed);
  tampered.searchParams.set('X-Amz-Signature', '0'.repeat(64));
  assert.equal((await fetch(tampered)).status, 403);
  assert.equal((await fetch(`${gate.endpoint}/${bucket.bucket}/${KEY_DIR}/${rec.name}.mp4`)).status, 403);
  // Range requests follow the redirect.
  const ranged = await fetch(`${server.url}/signed/streams/${rec.name}.mp4`, { headers: { Range: 'bytes=0-99' } });
  assert.equal(ranged.status, 206);
  assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(mp4Bytes().subarray(0, 100)));
});

test('presigned: a playlist is streamed so its segments come back to the server and are signed one by one', async () => {
  const r = await get(`/signed/streams/${rec.name}.m3u8`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'application/vnd.apple.mpegurl');
  assert.equal(r.headers.get('cache-control'), 'no-cache');
  const text = await r.text();
  assert.equal(text, readFileSync(rec.playlist, 'utf8'));
  const first = text.split('\n').find((l) => l.endsWith('.ts'))!;
  assert.ok(!first.includes('/'), 'segment URIs are relative');
  const seg = await get(`/signed/streams/${first}`);
  assert.equal(seg.status, 302);
  const segUrl = new URL(seg.headers.get('location')!);
  assert.equal(segUrl.pathname, `/${bucket.bucket}/${KEY_DIR}/${first}`);
  assert.ok(segUrl.searchParams.get('X-Amz-Signature'));
  const bytes = Buffer.from(await (await fetch(segUrl)).arrayBuffer());
  assert.ok(bytes.equals(readFileSync(path.join(rec.dir, first))));
});

test('proxy: streams the object with Range, HEAD and conditional requests; no viewer headers reach the bucket', async () => {
  const size = statSync(rec.mp4).size;
  const seenBefore = gate.seen.length;
  const refusedBefore = gate.refused.length;
  for (const app of ['proxied', 'cdn']) {
    const full = await get(`/${app}/streams/${rec.name}.mp4`, { headers: { Cookie: 'session=secret', Authorization: 'Bearer viewer' } });
    assert.equal(full.status, 200, app);
    assert.equal(full.headers.get('content-type'), 'video/mp4');
    assert.equal(full.headers.get('content-length'), String(size));
    assert.equal(full.headers.get('accept-ranges'), 'bytes');
    assert.ok(Buffer.from(await full.arrayBuffer()).equals(mp4Bytes()), app);

    const ranged = await get(`/${app}/streams/${rec.name}.mp4`, { headers: { Range: 'bytes=100-199' } });
    assert.equal(ranged.status, 206, app);
    assert.equal(ranged.headers.get('content-range'), `bytes 100-199/${size}`);
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(mp4Bytes().subarray(100, 200)), app);
    const tail = await get(`/${app}/streams/${rec.name}.mp4`, { headers: { Range: `bytes=${size - 50}-` } });
    assert.equal(tail.status, 206);
    assert.ok(Buffer.from(await tail.arrayBuffer()).equals(mp4Bytes().subarray(size - 50)), app);
    const beyond = await get(`/${app}/streams/${rec.name}.mp4`, { headers: { Range: `bytes=${size + 10}-${size + 20}` } });
    assert.equal(beyond.status, 416, app);

    const head = await get(`/${app}/streams/${rec.name}.mp4`, { method: 'HEAD' });
    assert.equal(head.status, 200, app);
    assert.equal(head.headers.get('content-length'), String(size));
    assert.equal((await head.arrayBuffer()).byteLength, 0);

    const etag = full.headers.get('etag');
    assert.ok(etag, 'etag passed through');
    const cached = await get(`/${app}/streams/${rec.name}.mp4`, { headers: { 'If-None-Match': etag } });
    assert.equal(cached.status, 304, app);

    const missing = await get(`/${app}/streams/nothing.mp4`);
    assert.equal(missing.status, 404, app);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'not_found');
  }
  // Own-bucket proxying went through the private gate with signed URLs only; no viewer credentials leaked.
  const seen = gate.seen.slice(seenBefore);
  // full, ranged, tail, beyond, HEAD, conditional; `nothing.mp4` is unknown to the catalog and never asked for.
  assert.equal(seen.length, 6, `own-bucket requests went through the gate (${seen.length})`);
  assert.ok(seen.every((h) => !h.cookie && !h.authorization && !h.origin), 'no cookie, authorization or origin sent upstream');
  assert.deepEqual(gate.refused.slice(refusedBefore), [], 'every proxied request was signed (HEAD ones for HEAD)');
  // HLS through the proxy: playlist and segments.
  const pl = await get(`/proxied/streams/${rec.name}.m3u8`);
  assert.equal(pl.status, 200);
  const seg = (await pl.text()).split('\n').find((l) => l.endsWith('.ts'))!;
  const segRes = await get(`/proxied/streams/${seg}`);
  assert.equal(segRes.status, 200);
  assert.equal(segRes.headers.get('content-type'), 'video/mp2t');
  assert.ok(Buffer.from(await segRes.arrayBuffer()).equals(readFileSync(path.join(rec.dir, seg))));
});

test('proxy: bytes reach the viewer before the bucket finished sending, and a viewer who leaves aborts the upstream request', async () => {
  const reader = (await get('/slow/streams/big.mp4')).body!.getReader();
  const first = await reader.read();
  assert.ok(first.value && first.value.byteLength > 0, 'first bytes arrive while the origin holds the rest back');
  assert.equal(origin.finished, 0, 'origin has not finished yet');
  origin.release();
  let total = first.value.byteLength;
  for (;;) {
    const c = await reader.read();
    if (c.done) break;
    total += c.value.byteLength;
  }
  assert.equal(total, origin.size);

  const ac = new AbortController();
  const r2 = await get('/slow/streams/big.mp4', { signal: ac.signal });
  await r2.body!.getReader().read();
  const closedBefore = origin.closedEarly;
  ac.abort();
  const deadline = Date.now() + 10_000;
  while (origin.closedEarly === closedBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(origin.closedEarly, closedBefore + 1, 'upstream response closed before it finished');
  origin.release();
});

test('bucket failures become clear errors', async () => {
  const down = await get('/down/streams/x.mp4');
  assert.equal(down.status, 502);
  assert.equal(((await down.json()) as { error: { code: string } }).error.code, 'bucket_unreachable');

  locator.failWith = new Error('database is locked');
  try {
    const r = await get('/proxied/streams/x.mp4');
    assert.equal(r.status, 503);
    assert.match(((await r.json()) as { error: { message: string } }).error.message, /catalog unavailable: database is locked/);
  } finally {
    locator.failWith = undefined;
  }

  // Wrong credentials: the bucket refuses our signature; that is our fault, not a missing file.
  const known = new MemoryLocator();
  known.add('live', 'streams', 'plain.mp4', { bucket: bucket.bucket, key: 'streams/plain.mp4' });
  const wrong = await startForwardingServer({
    apps: [{ name: 'live' }],
    locator: known,
    signer: { presign: async (r) => (await sdkSigner(gate.endpoint, bucket.bucket).presign(r)).replace(/X-Amz-Signature=[0-9a-f]+/, `X-Amz-Signature=${'1'.repeat(64)}`) },
  });
  try {
    const r = await fetch(`${wrong.url}/live/streams/plain.mp4`);
    assert.equal(r.status, 502);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'bucket_access_denied');
  } finally {
    await wrong.stop();
  }
});

test('without storage: auto mode keeps answering 404, explicit presigned/proxy modes say what is missing', async () => {
  const bare = await startForwardingServer({ apps: [{ name: 'live' }, { name: 'p', httpForwardingMode: 'presigned' }, { name: 'x', httpForwardingMode: 'proxy' }] });
  try {
    assert.equal((await fetch(`${bare.url}/live/streams/a.mp4`)).status, 404);
    for (const app of ['p', 'x']) {
      const r = await fetch(`${bare.url}/${app}/streams/a.mp4`);
      assert.equal(r.status, 503, app);
      assert.match(((await r.json()) as { error: { message: string } }).error.message, /needs the app's bucket/);
    }
  } finally {
    await bare.stop();
  }
});

test('signatures and credentials never reach the log', () => {
  const all = server.logs.join('\n');
  assert.ok(server.logs.length > 0, 'something was logged (bucket failures)');
  assert.doesNotMatch(all, /X-Amz-Signature|X-Amz-Credential|S3RVER/);
});

interface SlowOrigin {
  url: string;
  size: number;
  finished: number;
  closedEarly: number;
  release(): void;
  stop(): Promise<void>;
}

/** An origin (a CDN in front of a bucket) that sends 64 KiB, then holds the rest until released. */
async function startSlowOrigin(): Promise<SlowOrigin> {
  const size = 4 * 1024 * 1024;
  let waiting: Array<() => void> = [];
  const o: SlowOrigin = {
    url: '',
    size,
    finished: 0,
    closedEarly: 0,
    release: () => {
      for (const w of waiting) w();
      waiting = [];
    },
    stop: async () => {
      o.release();
      srv.closeAllConnections();
      await new Promise((r) => srv.close(r));
    },
  };
  const srv = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) });
    res.write(Buffer.alloc(64 * 1024, 7));
    res.on('close', () => {
      if (!res.writableFinished) o.closedEarly++;
    });
    waiting.push(() => {
      if (res.destroyed) return;
      res.end(Buffer.alloc(size - 64 * 1024, 7), () => o.finished++);
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  o.url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  return o;
}
