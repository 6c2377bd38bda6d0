/**
 * Private viewing. An app with `playback.access: "signed"`
 * answers its media URLs (local, forwarded, proxied, and express routes behind
 * the exported guard) only with a valid `?token=`: unsigned, tampered, other
 * app's, expired, wrong-prefix and wrong-address tokens get 403 JSON; a valid
 * one plays, and playlists carry it into their segment URIs. Tokens are minted
 * by `POST /api/v1/applications/<app>/playback-tokens` on the real server.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { startBucket, type TestBucket } from '../helpers/fwd-bucket.js';
import { startForwardingServer, makeRecording, type FwdServer, type TestRecording } from '../helpers/fwd-server.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { adminEnv, login } from '../helpers/api.js';

let bucket: TestBucket;
let server: FwdServer;
let rec: TestRecording;
const now = () => Math.floor(Date.now() / 1000);

before(async () => {
  [bucket, rec] = await Promise.all([startBucket(), makeRecording('cam1_20261204T101500Z', 4)]);
  for (const f of [rec.mp4, rec.playlist, ...rec.segments]) await bucket.putFile(`streams/${path.basename(f)}`, f);
  server = await startForwardingServer({
    apps: [
      { name: 'priv', playback: { access: 'signed' } },
      { name: 'privcdn', playback: { access: 'signed' }, httpForwardingMode: 'proxy', httpForwardingBaseURL: bucket.url },
      { name: 'pub' },
      { name: 'privredir', playback: { access: 'signed' }, httpForwardingBaseURL: 'https://cdn.example.com' },
    ],
  });
  for (const app of ['priv', 'pub']) {
    for (const f of [rec.mp4, rec.playlist, ...rec.segments]) copyFileSync(f, path.join(server.layout.streamsDir(app), path.basename(f)));
    copyFileSync(rec.poster, path.join(server.layout.previewsDir(app), path.basename(rec.poster)));
  }
});

after(async () => {
  await server?.stop();
  await bucket?.stop();
});

const get = (p: string, init: RequestInit = {}) => fetch(`${server.url}${p}`, { redirect: 'manual', ...init });
const mint = (app: string, extra: { prefix?: string; ip?: string; expiresAt?: number } = {}) => server.guard.mint({ app, expiresAt: extra.expiresAt ?? now() + 600, ...extra });
const code = async (r: Response) => ((await r.json()) as { error: { code: string } }).error.code;

test('a private app refuses unsigned, tampered, foreign, expired, wrong-prefix and wrong-address tokens with 403 JSON', async () => {
  const mp4 = `/priv/streams/${rec.name}.mp4`;
  const good = mint('priv');
  const [payload, sig] = good.split('.');
  const forged = Buffer.from(JSON.stringify({ a: 'priv', e: now() + 99_999 })).toString('base64url');
  const cases: Array<[string, string, string]> = [
    ['no token', mp4, 'token_required'],
    ['empty token', `${mp4}?token=`, 'token_required'],
    ['garbage', `${mp4}?token=abc`, 'token_invalid'],
    ['payload changed, signature kept', `${mp4}?token=${forged}.${sig}`, 'token_invalid'],
    ['signature changed', `${mp4}?token=${payload}.${sig.slice(0, -2)}AA`, 'token_invalid'],
    ['token of another app', `${mp4}?token=${mint('pub')}`, 'token_invalid'],
    ['expired', `${mp4}?token=${mint('priv', { expiresAt: now() - 1 })}`, 'token_expired'],
    ['other path prefix', `${mp4}?token=${mint('priv', { prefix: 'streams/cam2_' })}`, 'token_path'],
    ['prefix of previews only', `${mp4}?token=${mint('priv', { prefix: 'previews/' })}`, 'token_path'],
    ['other client address', `${mp4}?token=${mint('priv', { ip: '203.0.113.9' })}`, 'token_ip'],
    ['forwarded file, no token', `/priv/streams/not-here.mp4`, 'token_required'],
    ['proxied app, no token', `/privcdn/streams/${rec.name}.mp4`, 'token_required'],
    ['preview, no token', `/priv/previews/${rec.name}.webp`, 'token_required'],
  ];
  for (const [what, url, expected] of cases) {
    const r = await get(url);
    assert.equal(r.status, 403, what);
    assert.equal(r.headers.get('content-type'), 'application/json; charset=utf-8', what);
    assert.equal(r.headers.get('cache-control'), 'no-store', what);
    const c = await code(r);
    assert.equal(c, expected, what);
    const head = await get(url, { method: 'HEAD' });
    assert.equal(head.status, 403, `HEAD ${what}`);
  }
  // A refusal never echoes the token.
  const r = await get(`${mp4}?token=${mint('priv', { expiresAt: now() - 1 })}`);
  assert.doesNotMatch(await r.text(), /\.[A-Za-z0-9_-]{40,}/);
  // CORS preflights carry no token and are still answered.
  assert.equal((await get(mp4, { method: 'OPTIONS', headers: { Origin: 'https://site.example', 'Access-Control-Request-Method': 'GET' } })).status, 204);
});

test('a valid token plays: whole file, Range, poster, private caching; a public app needs none', async () => {
  const t = mint('priv');
  const full = await get(`/priv/streams/${rec.name}.mp4?token=${encodeURIComponent(t)}`);
  assert.equal(full.status, 200);
  assert.equal(full.headers.get('cache-control'), 'private, max-age=3600');
  assert.ok(Buffer.from(await full.arrayBuffer()).equals(readFileSync(rec.mp4)));
  const ranged = await get(`/priv/streams/${rec.name}.mp4?token=${t}`, { headers: { Range: 'bytes=0-99' } });
  assert.equal(ranged.status, 206);
  assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(readFileSync(rec.mp4).subarray(0, 100)));
  assert.equal((await get(`/priv/previews/${rec.name}.webp?token=${t}`)).status, 200);
  const scoped = mint('priv', { prefix: `streams/${rec.name}`, ip: '127.0.0.1' });
  assert.equal((await get(`/priv/streams/${rec.name}.mp4?token=${scoped}`)).status, 200, 'prefix and address match');
  assert.equal((await get(`/pub/streams/${rec.name}.mp4`)).status, 200);
  assert.equal((await get(`/pub/streams/${rec.name}.mp4`)).headers.get('cache-control'), 'public, max-age=3600');
});

test('a private app\'s redirect keeps the query but never the viewing token, and is not cacheable', async () => {
  const t = mint('privredir');
  const r = await get(`/privredir/streams/x.mp4?a=1&token=${encodeURIComponent(t)}&b=2`);
  assert.equal(r.status, 302);
  assert.equal(r.headers.get('location'), 'https://cdn.example.com/streams/x.mp4?a=1&b=2');
  assert.equal(r.headers.get('cache-control'), 'no-store');
  const only = await get(`/privredir/streams/x.mp4?token=${encodeURIComponent(t)}`);
  assert.equal(only.headers.get('location'), 'https://cdn.example.com/streams/x.mp4');
});

test('the client address behind a trusted proxy is the X-Forwarded-For one', async () => {
  const t = mint('priv', { ip: '203.0.113.7' });
  const url = `/priv/streams/${rec.name}.mp4?token=${t}`;
  assert.equal((await get(url, { headers: { 'X-Forwarded-For': '203.0.113.7' } })).status, 200, 'loopback proxy is trusted');
  assert.equal((await get(url, { headers: { 'X-Forwarded-For': '198.51.100.1' } })).status, 403);
  assert.equal((await get(url)).status, 403);
});

test('playlists carry the token into every segment URI, served locally and through the proxy', async () => {
  for (const app of ['priv', 'privcdn']) {
    const t = mint(app, { prefix: `streams/${rec.name}` });
    const r = await get(`/${app}/streams/${rec.name}.m3u8?token=${encodeURIComponent(t)}`, { headers: { Range: 'bytes=0-10', 'If-None-Match': '"x"' } });
    assert.equal(r.status, 200, app);
    assert.equal(r.headers.get('content-type'), 'application/vnd.apple.mpegurl');
    assert.equal(r.headers.get('cache-control'), 'private, no-cache');
    assert.equal(r.headers.get('etag'), null, 'no validator: the body depends on the token');
    const text = await r.text();
    const original = readFileSync(rec.playlist, 'utf8');
    const uris = text.split('\n').filter((l) => l && !l.startsWith('#'));
    assert.equal(uris.length, rec.segments.length, app);
    for (const u of uris) {
      assert.match(u, new RegExp(`^${rec.name}_\\d{5}\\.ts\\?token=`), app);
      assert.equal(new URL(u, 'http://x/').searchParams.get('token'), t);
      const seg = await get(`/${app}/streams/${u}`);
      assert.equal(seg.status, 200, `${app} ${u}`);
      assert.ok(Buffer.from(await seg.arrayBuffer()).equals(readFileSync(path.join(rec.dir, u.split('?')[0]))));
    }
    assert.equal(text.replace(/\?token=[^\n]*/g, ''), original, 'nothing else changed');
    const head = await get(`/${app}/streams/${rec.name}.m3u8?token=${t}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    // Served locally the rewritten length is known; through the proxy a HEAD does not fetch the body to learn it.
    if (app === 'priv') assert.equal(Number(head.headers.get('content-length')), Buffer.byteLength(text));
    else assert.equal(head.headers.get('content-length'), null);
  }
  // A public app's playlist is served as it is.
  assert.equal(await (await get(`/pub/streams/${rec.name}.m3u8`)).text(), readFileSync(rec.playlist, 'utf8'));
});

test('the exported guard protects express routes under /<app>/ the same way', async () => {
  const app = express();
  app.set('trust proxy', 'loopback');
  app.get('/:app/playback/get', server.guard.middleware(), (_req, res) => void res.json({ ok: true }));
  const http = app.listen(0, '127.0.0.1');
  await new Promise((r) => http.once('listening', r));
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  try {
    assert.equal((await fetch(`${base}/pub/playback/get`)).status, 200);
    const refused = await fetch(`${base}/priv/playback/get`);
    assert.equal(refused.status, 403);
    assert.equal(await code(refused), 'token_required');
    assert.equal((await fetch(`${base}/priv/playback/get?token=${mint('priv', { prefix: 'playback/' })}`)).status, 200);
    assert.equal(await code(await fetch(`${base}/priv/playback/get?token=${mint('priv', { prefix: 'streams/' })}`)), 'token_path');
    assert.equal((await fetch(`${base}/unknown/playback/get`)).status, 200, 'not an app: not the guard\'s business');
  } finally {
    http.close();
  }
});

test('POST /api/v1/applications/<app>/playback-tokens mints tokens the real server accepts; bad requests are refused', async () => {
  const real: TestServer = await startServer({
    config: { applications: [{ name: 'priv', s3RecordingEnabled: false, playback: { access: 'signed', maxTokenLifetimeSeconds: 600 } }] },
    env: adminEnv(),
  });
  try {
    const dir = path.join(real.dataDir, 'priv', 'streams');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'clip.mp4'), 'MP4BYTES');
    const admin = await login(real);
    const anon = admin.anonymous();
    assert.equal((await anon.post('/api/v1/applications/priv/playback-tokens', {})).status, 401);
    assert.equal((await admin.post('/api/v1/applications/nope/playback-tokens', {})).status, 404);
    for (const body of [{ expiresInSeconds: 601 }, { expiresInSeconds: 0 }, { prefix: '/streams' }, { prefix: 'streams/../x' }, { ip: 'not-an-ip' }, { extra: 1 }]) {
      const r = await admin.post('/api/v1/applications/priv/playback-tokens', body);
      assert.equal(r.status, 422, JSON.stringify(body));
    }
    const minted = await admin.post('/api/v1/applications/priv/playback-tokens', { expiresInSeconds: 120, prefix: 'streams/clip' });
    assert.equal(minted.status, 201, minted.text);
    assert.equal(minted.json.access, 'signed');
    assert.ok(Math.abs(Date.parse(minted.json.expiresAt) - (Date.now() + 120_000)) < 5_000);
    const url = `${real.httpUrl}/priv/streams/clip.mp4`;
    assert.equal((await fetch(url)).status, 403);
    const ok = await fetch(`${url}?${minted.json.query}`);
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'MP4BYTES');
    assert.equal((await fetch(`${real.httpUrl}/priv/previews/clip.jpg?${minted.json.query}`)).status, 403, 'outside the prefix');
    // Without a body: the default lifetime (at most the app's maximum).
    const plain = await admin.post('/api/v1/applications/priv/playback-tokens');
    assert.equal(plain.status, 201);
    assert.ok(Date.parse(plain.json.expiresAt) <= Date.now() + 601_000);
  } finally {
    await real.stop();
    real.cleanup();
  }
});

test('raising playback.keyGeneration revokes every viewing token of the app (403 token_invalid), across a restart; other apps keep theirs', async () => {
  const config = {
    applications: [
      { name: 'priv', s3RecordingEnabled: false, playback: { access: 'signed' } },
      { name: 'other', s3RecordingEnabled: false, playback: { access: 'signed' } },
    ],
  };
  let real: TestServer = await startServer({ config, env: adminEnv() });
  const dataDir = real.dataDir;
  try {
    for (const app of ['priv', 'other']) {
      mkdirSync(path.join(dataDir, app, 'streams'), { recursive: true });
      writeFileSync(path.join(dataDir, app, 'streams', 'clip.mp4'), 'MP4BYTES');
    }
    let admin = await login(real);
    const mintQuery = async (app: string) => {
      const r = await admin.post(`/api/v1/applications/${app}/playback-tokens`, { expiresInSeconds: 600 });
      assert.equal(r.status, 201, r.text);
      return r.json.query as string;
    };
    const clip = (app: string, query: string) => fetch(`${real.httpUrl}/${app}/streams/clip.mp4?${query}`);
    const before = await mintQuery('priv');
    const otherBefore = await mintQuery('other');
    assert.equal((await clip('priv', before)).status, 200, 'generation 0 (the default) plays');
    assert.equal((await admin.get('/api/v1/applications/priv')).json.settings.playback.keyGeneration, 0, 'the default generation');

    for (const bad of [-1, 1.5, '1', true, 1_000_000_001]) {
      const r = await admin.patch('/api/v1/applications/priv', { playback: { keyGeneration: bad } });
      assert.equal(r.status, 422, `keyGeneration ${JSON.stringify(bad)}: ${r.text}`);
    }
    assert.equal((await clip('priv', before)).status, 200, 'a refused change revokes nothing');

    const bumped = await admin.patch('/api/v1/applications/priv', { playback: { keyGeneration: 1 } });
    assert.equal(bumped.status, 200, bumped.text);
    const refused = await clip('priv', before);
    assert.equal(refused.status, 403);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'token_invalid');
    const after = await mintQuery('priv');
    assert.equal((await clip('priv', after)).status, 200, 'a token minted after the bump plays');
    assert.equal((await clip('other', otherBefore)).status, 200, "another app's tokens are untouched");

    // The generation is saved with the app's settings: after a restart the old token stays refused, the new one plays.
    await real.stop();
    real = await startServer({ config, env: adminEnv(), dataDir });
    admin = await login(real);
    assert.equal((await clip('priv', before)).status, 403, 'still revoked after a restart');
    assert.equal((await clip('priv', after)).status, 200, 'still valid after a restart');
  } finally {
    await real.stop();
    real.cleanup();
  }
});
