/**
 * The admin part of the shared store suite (src/db/admin-types.ts): app
 * settings saved through the API, the admin account, sessions and tokens,
 * publish credentials, and the webhook outbox with leases. Registered by
 * `storeSuite`, so every implementation runs it.
 */
import assert from 'node:assert/strict';
import type { StoreHarness } from './store-suite.js';

type WithStore = (title: string, fn: (h: StoreHarness) => Promise<void>) => void;

const user = (id: string, username: string) => ({ id, username, passwordHash: '$2b$11$hash', createdAt: new Date().toISOString(), passwordChangedAt: new Date().toISOString() });

let n = 0;
const delivery = (over: Partial<{ app: string; url: string; dedupeKey: string }> = {}) => {
  const id = `evt_${++n}_${Math.random().toString(16).slice(2)}`;
  return { id, app: 'live', event: 'recordingUploaded', url: 'http://127.0.0.1:9/hook', body: `{"id":"${id}"}`, dedupeKey: id, ...over };
};

export function adminStoreSuite(withStore: WithStore): void {
  withStore('app settings: saved, replaced, deleted and listed oldest first; sealed at rest; survive reopening', async (h) => {
    const s = h.store.appSettings;
    await s.put('live', { name: 'live', hlsTime: 4, webhooks: [{ url: 'https://x.test/h', secret: 'webhook-secret-at-rest' }] });
    await s.put('other', { name: 'other' });
    await s.put('live', { name: 'live', hlsTime: 6 });
    await s.markDeleted('gone');
    const list = await s.list();
    assert.deepEqual(list.map((a) => a.name), ['live', 'other', 'gone']);
    assert.deepEqual(list[0].settings, { name: 'live', hlsTime: 6 });
    assert.equal(list[2].settings, null);
    await s.put('gone', { name: 'gone' });
    await s.markDeleted('other');
    const store = await h.reopen();
    const again = await store.appSettings.list();
    assert.deepEqual(again.map((a) => [a.name, a.settings === null]), [['live', false], ['other', true], ['gone', false]]);
  });

  withStore('auth: one user per name, sessions expire and end, tokens by hash only', async ({ store }) => {
    const a = store.auth;
    assert.equal(await a.countUsers(), 0);
    assert.equal(await a.createUser(user('u1', 'admin')), true);
    assert.equal(await a.createUser(user('u2', 'admin')), false, 'the name is taken');
    assert.equal(await a.countUsers(), 1);
    assert.equal((await a.getUserByName('admin'))?.id, 'u1');
    await a.setPassword('u1', '$2b$11$other');
    assert.equal((await a.getUser('u1'))?.passwordHash, '$2b$11$other');
    const now = Date.now();
    for (const id of ['s1', 's2', 's3']) await a.createSession({ idHash: id, userId: 'u1', createdAt: new Date().toISOString(), expiresAt: id === 's3' ? now - 1 : now + 60_000, lastSeenAt: now, ip: '127.0.0.1' });
    assert.equal((await a.getSession('s1'))?.ip, '127.0.0.1');
    await a.touchSession('s1', now + 5, now + 120_000);
    assert.equal((await a.getSession('s1'))?.expiresAt, now + 120_000);
    assert.equal(await a.deleteExpiredSessions(now), 1);
    assert.equal(await a.deleteUserSessions('u1', 's1'), 1, 'all but the current one');
    assert.ok(await a.getSession('s1'));
    await a.deleteSession('s1');
    assert.equal(await a.getSession('s1'), undefined);
    await a.createToken({ id: 'tok_1', userId: 'u1', name: 'ci', hint: 'bct_abcd', createdAt: new Date().toISOString() }, 'hash-1');
    await a.createToken({ id: 'tok_2', userId: 'u1', name: 'prom', hint: 'bct_efgh', createdAt: new Date().toISOString(), expiresAt: now + 1000 }, 'hash-2');
    assert.equal((await a.findTokenByHash('hash-2'))?.name, 'prom');
    assert.equal(await a.findTokenByHash('hash-3'), undefined);
    await a.touchToken('tok_1', '2026-01-01T00:00:00.000Z');
    const tokens = await a.listTokens('u1');
    assert.deepEqual(tokens.map((t) => t.id), ['tok_1', 'tok_2']);
    assert.equal(tokens[0].lastUsedAt, '2026-01-01T00:00:00.000Z');
    assert.ok(!JSON.stringify(tokens).includes('hash-'), 'listings never carry the hash');
    assert.equal(await a.deleteToken('u2', 'tok_1'), false, 'only its owner revokes it');
    assert.equal(await a.deleteToken('u1', 'tok_1'), true);
    assert.equal(await a.findTokenByHash('hash-1'), undefined);
  });

  withStore('publish credentials: one key per stream id (replaced on reissue), secrets sealed, purged with the app', async ({ store }) => {
    const p = store.publishCredentials;
    await p.putStreamKey({ app: 'live', streamId: 'cam1', hint: 'sk_aaaa', createdAt: new Date().toISOString() }, 'h1');
    await p.touchStreamKey('live', 'cam1', '2026-01-01T00:00:00.000Z');
    assert.equal((await p.getStreamKey('live', 'cam1'))?.lastUsedAt, '2026-01-01T00:00:00.000Z');
    await p.putStreamKey({ app: 'live', streamId: 'cam1', hint: 'sk_bbbb', createdAt: new Date().toISOString() }, 'h2');
    assert.equal(await p.streamKeyHash('live', 'cam1'), 'h2');
    assert.equal((await p.getStreamKey('live', 'cam1'))?.lastUsedAt, undefined, 'a new key has not been used');
    await p.putStreamKey({ app: 'live', streamId: 'cam2', hint: 'sk_cccc', createdAt: new Date().toISOString() }, 'h3');
    await p.putStreamKey({ app: 'other', streamId: 'cam1', hint: 'sk_dddd', createdAt: new Date().toISOString() }, 'h4');
    assert.deepEqual((await p.listStreamKeys('live')).map((k) => k.streamId), ['cam1', 'cam2']);
    assert.ok(!/"h\d"/.test(JSON.stringify(await p.listStreamKeys('live'))), 'no hash in listings');
    assert.equal(await p.deleteStreamKey('live', 'cam2'), true);
    assert.equal(await p.deleteStreamKey('live', 'cam2'), false);
    assert.equal(await p.signingSecret('live'), undefined);
    await p.setSigningSecret('live', 'signing-secret-one-xxxxxxxxxxxxxxxx');
    await p.setSigningSecret('live', 'signing-secret-two-xxxxxxxxxxxxxxxx');
    assert.equal((await p.signingSecret('live'))?.secret, 'signing-secret-two-xxxxxxxxxxxxxxxx');
    await p.deleteApp('live');
    assert.equal(await p.signingSecret('live'), undefined);
    assert.deepEqual(await p.listStreamKeys('live'), []);
    assert.equal(await p.streamKeyHash('other', 'cam1'), 'h4', 'other apps keep theirs');
  });

  withStore('outbox: deduplicated, leased once, retried later, failed and retried on request, survives reopening', async (h) => {
    const o = h.store.outbox;
    const d1 = delivery();
    assert.equal(await o.enqueue(d1), true);
    assert.equal(await o.enqueue({ ...delivery(), dedupeKey: d1.dedupeKey }), false, 'one delivery per dedupe key');
    const d2 = delivery({ app: 'other' });
    await o.enqueue(d2);
    assert.equal((await o.backlog()).count, 2);
    const c1 = await o.claim('node-a', 60_000);
    assert.equal(c1?.id, d1.id);
    assert.equal(c1?.state, 'delivering');
    assert.equal(c1?.body, d1.body);
    const c2 = await o.claim('node-b', 60_000);
    assert.equal(c2?.id, d2.id);
    assert.equal(await o.claim('node-b', 60_000), undefined);
    await o.complete(d1.id, 'node-b', 200);
    assert.equal((await o.get(d1.id))?.state, 'delivering', 'only the lease owner completes');
    const at = Date.now() + 60_000;
    await o.retryLater(d1.id, 'node-a', at, 'connect ECONNREFUSED', undefined);
    const waiting = await o.get(d1.id);
    assert.equal(waiting?.state, 'pending');
    assert.equal(waiting?.attempts, 1);
    assert.equal(waiting?.nextAttemptAt, at);
    assert.equal(waiting?.lastError, 'connect ECONNREFUSED');
    assert.equal(await o.nextDueAt(), Math.min(at, c2!.leaseUntil!));
    await o.fail(d2.id, 'node-b', 'gave up', 500);
    assert.deepEqual((await o.list({ state: 'failed', limit: 10 })).map((d) => [d.id, d.lastStatus]), [[d2.id, 500]]);
    assert.deepEqual((await o.list({ app: 'live', limit: 10 })).map((d) => d.id), [d1.id]);
    assert.equal(await o.retry(d2.id), true);
    const again = await o.claim('node-b', 60_000);
    assert.equal(again?.id, d2.id, 'a retried delivery is due now');
    await o.complete(d2.id, 'node-b', 204);
    assert.equal((await o.get(d2.id))?.state, 'delivered');
    assert.equal(await o.retry(d2.id), false, 'a delivered one is not sent again');
    const d3 = delivery();
    await o.enqueue(d3);
    await o.claim('node-c', 60_000);
    assert.equal(await o.releaseOwner('node-c'), 1);
    const store = await h.reopen();
    assert.equal((await store.outbox.get(d3.id))?.state, 'pending');
    assert.equal((await store.outbox.backlog()).count, 2);
    assert.equal(await store.outbox.prune(new Date(Date.now() + 1000)), 1, 'only delivered/failed ones are pruned');
  });

  withStore('outbox: an expired lease is taken over; released leases are not counted as attempts', async ({ store }) => {
    const o = store.outbox;
    const d = delivery();
    await o.enqueue(d);
    await o.claim('a', 30);
    await new Promise((r) => setTimeout(r, 60));
    const taken = await o.claim('b', 60_000);
    assert.equal(taken?.id, d.id);
    await o.release(d.id, 'b');
    const third = await o.claim('c', 60_000);
    assert.equal(third?.attempts, 0);
  });
}
