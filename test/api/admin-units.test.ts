/**
 * The admin parts that need no server: login throttling, JSON merge
 * patch, publish token signing and checking, webhook signatures, and how
 * saved application settings combine with the config file (also when they
 * cannot be read any more).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { LoginLimiter } from '../../src/auth/login-limiter.js';
import { mergePatch, loadApps } from '../../src/apps/app-admin.js';
import { signPublishToken, verifyPublishToken } from '../../src/auth/publish-tokens.js';
import { signatureHeader, verifySignature } from '../../src/webhooks/signature.js';
import { openSqliteStore } from '../../src/db/sqlite/index.js';
import { appSettings } from '../../src/config/schema.js';
import { createLogger } from '../../src/log/logger.js';
import http from 'node:http';
import { Webhooks } from '../../src/webhooks/index.js';
import { EventBus } from '../../src/events/event-bus.js';
import type { BusEvents } from '../../src/events/types.js';
import { AppRegistry } from '../../src/apps/app-registry.js';
import { apiSettings } from '../../src/config/api-schema.js';
import { sampleRecording } from '../helpers/store-suite.js';

test('login limiter: per address, per user (any case, any address), lockout ends, success clears', () => {
  let now = 1_000_000;
  const l = new LoginLimiter({ maxFailuresPerIp: 3, maxFailuresPerUser: 5, windowSeconds: 60, lockoutSeconds: 30 }, () => now);
  assert.equal(l.fail('a', 'admin').locked, false);
  assert.equal(l.fail('a', 'admin').locked, false);
  const locked = l.fail('a', 'admin');
  assert.deepEqual(locked, { locked: true, scope: 'ip', retryAfterSeconds: 30 });
  assert.equal(l.check('b', 'admin').locked, false, 'another address is not locked');
  now += 29_000;
  assert.equal(l.check('a', 'admin').locked, true);
  now += 1_000;
  assert.equal(l.check('a', 'admin').locked, false, 'the lockout ends');
  // Two more from other addresses (5 in all for the user, whatever the case of its name).
  l.fail('c', 'ADMIN');
  const user = l.fail('d', 'Admin');
  assert.equal(user.locked && user.scope, 'user');
  assert.equal(l.check('e', 'admin').locked, true, 'every address');
  now += 30_000;
  l.fail('f', 'admin');
  l.succeed('f', 'admin');
  for (let i = 0; i < 4; i++) l.fail(`g${i}`, 'admin');
  assert.equal(l.check('h', 'admin').locked, false, 'a success cleared the count');
  now += 61_000;
  for (let i = 0; i < 4; i++) l.fail(`i${i}`, 'admin');
  assert.equal(l.check('h', 'admin').locked, false, 'failures outside the window do not count');
});

test('JSON merge patch (RFC 7386)', () => {
  assert.deepEqual(mergePatch({ a: 1, b: { c: 2, d: 3 }, e: [1] }, { a: null, b: { c: 4 }, e: [2, 3], f: 'x' }), { b: { c: 4, d: 3 }, e: [2, 3], f: 'x' });
  assert.deepEqual(mergePatch({ a: 1 }, { a: { b: null } }), { a: {} });
  assert.equal(mergePatch({ a: 1 }, 'replaced'), 'replaced');
});

test('publish tokens: signed over app, stream id and expiry; forged, moved, expired and too long-lived tokens fail', () => {
  const secret = randomBytes(32).toString('hex');
  const now = 1_800_000_000;
  const t = signPublishToken(secret, 'live', 'cam1', now + 600);
  assert.deepEqual(verifyPublishToken(secret, 'live', 'cam1', t, now, 3600), { ok: true, expiresAt: now + 600 });
  const fails = (token: string, app = 'live', id = 'cam1', at = now, max = 3600) => {
    const r = verifyPublishToken(secret, app, id, token, at, max);
    assert.equal(r.ok, false);
    return (r as { reason: string }).reason;
  };
  assert.match(fails(t, 'live', 'cam2'), /invalid token signature/);
  assert.match(fails(t, 'other'), /invalid token signature/);
  assert.match(fails(`${now + 601}.${t.split('.')[1]}`), /invalid token signature/, 'the expiry is signed');
  assert.match(fails(t, 'live', 'cam1', now + 600), /token expired/);
  assert.match(fails(t, 'live', 'cam1', now, 300), /more than 300 s ahead/);
  assert.match(fails('garbage'), /malformed/);
  assert.match(fails(`${now}.${'G'.repeat(64)}`), /malformed/);
  assert.ok(!fails('1.abc').includes('abc'), 'reasons never repeat the token');
});

test('webhook signatures: t and v1 over "t.body"; another body, secret or an old t fails', () => {
  const body = JSON.stringify({ id: 'evt_1', event: 'ping' });
  const now = 1_800_000_000;
  const h = signatureHeader('s3cr3t-s3cr3t-s3cr3t', body, now);
  assert.match(h, /^t=1800000000,v1=[0-9a-f]{64}$/);
  assert.ok(verifySignature('s3cr3t-s3cr3t-s3cr3t', body, h, now));
  assert.ok(!verifySignature('s3cr3t-s3cr3t-s3cr3t', `${body} `, h, now));
  assert.ok(!verifySignature('another-secret-xxxx', body, h, now));
  assert.ok(!verifySignature('s3cr3t-s3cr3t-s3cr3t', body, h, now + 301), 'too old');
});

test('saved app settings override the file per name, deletions stick, and unreadable ones fall back to the file', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-apps-'));
  const lines: string[] = [];
  const log = createLogger('debug', { write: (s: string) => void lines.push(s) });
  try {
    const key = randomBytes(32).toString('hex');
    const store = openSqliteStore({ dataDir, secretKey: key });
    const file = [appSettings.parse({ name: 'live', hlsTime: 2 }), appSettings.parse({ name: 'old' }), appSettings.parse({ name: 'keep' })];
    await store.appSettings.put('live', appSettings.parse({ name: 'live', hlsTime: 6 }));
    await store.appSettings.markDeleted('old');
    await store.appSettings.put('extra', appSettings.parse({ name: 'extra' }));
    await store.appSettings.put('broken', { name: 'broken', hlsTime: 'not a number' });
    const { apps, saved } = await loadApps(file, store.appSettings, log);
    assert.deepEqual(apps.map((a) => `${a.name}:${a.hlsTime}`), ['live:6', 'keep:2', 'extra:2']);
    assert.deepEqual([...saved].sort(), ['broken', 'extra', 'live']);
    assert.ok(lines.some((l) => l.includes('settings changed through the API override the config file')));
    assert.ok(lines.some((l) => l.includes('are not valid any more')));
    await store.close();
    // Another key: the saved settings cannot be read; the file's apps are used and the server starts.
    const other = openSqliteStore({ dataDir, secretKey: randomBytes(32).toString('hex') });
    const again = await loadApps(file, other.appSettings, log);
    assert.deepEqual(again.apps.map((a) => `${a.name}:${a.hlsTime}`), ['live:2', 'keep:2'], '"old" stays deleted; "live" falls back to the file');
    assert.ok(lines.some((l) => l.includes('cannot be read') && l.includes('another key')));
    await other.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a recording uploaded just before a crash (its event lost) is announced to webhooks at the next start, once', async () => {
  const got: string[] = [];
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d));
    req.on('end', () => {
      got.push(body);
      res.end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-catchup-'));
  const store = openSqliteStore({ dataDir });
  const log = createLogger('silent');
  try {
    // The catalog says "uploaded" for every file; no event ever said so.
    const { rec, files } = sampleRecording('live');
    await store.catalog.addRecording(rec, files);
    await store.queue.enqueue(rec.recordingId, files.map((f) => f.name));
    for (let j = await store.queue.claim('n', 60_000); j; j = await store.queue.claim('n', 60_000)) {
      await store.queue.complete(j.file.id, 'n', { bucket: 'b', key: `k/${j.file.name}`, url: 'u', size: 1, sha256: 'ab'.repeat(32), etag: 'e', verifiedBy: 'head' });
    }
    const apps = new AppRegistry([appSettings.parse({ name: 'live', webhooks: [{ url, secret: 'a-secret-of-16-chars', events: ['recordingUploaded'] }] })]);
    const start = async () => {
      const w = new Webhooks({ events: new EventBus<BusEvents>(log), apps, outbox: store.outbox, catalog: store.catalog, settings: apiSettings.parse({}), nodeId: 'n', log });
      await w.start();
      return w;
    };
    const first = await start();
    const deadline = Date.now() + 10_000;
    // Until the sender has recorded the delivery: a stop before that releases it (sent again at the next start, by design).
    while (first.counts.delivered === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await first.stop();
    assert.equal(got.length, 1);
    const body = JSON.parse(got[0]);
    assert.equal(body.event, 'recordingUploaded');
    assert.equal(body.data.recordingId, rec.recordingId);
    assert.equal(body.data.key, `k/${rec.name}.mp4`);
    const second = await start();
    await new Promise((r) => setTimeout(r, 500));
    await second.stop();
    assert.equal(got.length, 1, 'not announced again');
  } finally {
    await store.close();
    receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
