/**
 * The store interfaces' shared suite against the PostgreSQL
 * implementation on a real PostgreSQL (Debian `postgresql`, started in a temp
 * dir by test/helpers/postgres.ts), plus what is PostgreSQL's own: versioned
 * migrations run once when several nodes start together, a newer schema or
 * another node's key refused, an unreachable database named without its
 * password, upload leases taken by one node each under concurrency, and the
 * cluster-wide publish claims.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { openPostgresStore, type PostgresStore } from '../../src/db/postgres/index.js';
import { PG_MIGRATIONS } from '../../src/db/postgres/migrations.js';
import { startPostgres, type Postgres } from '../helpers/postgres.js';
import { sampleRecording, storeSuite } from '../helpers/store-suite.js';

let server: Promise<Postgres> | undefined;
const postgres = () => (server ??= startPostgres());
after(async () => {
  if (server) await (await server).stop();
});

const KEY = randomBytes(32).toString('hex');

/** A fresh database and data dir; every store opened on it shares the key unless told. */
async function freshDb(): Promise<{ url: string; dataDir: string; open(secretKey?: string): Promise<PostgresStore>; cleanup(): void }> {
  const url = await (await postgres()).createDatabase();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-pgstore-'));
  return {
    url,
    dataDir,
    open: (secretKey = KEY) => openPostgresStore({ url, dataDir, secretKey, poolMax: 4 }),
    cleanup: () => rmSync(dataDir, { recursive: true, force: true }),
  };
}

storeSuite('postgres', async () => {
  const db = await freshDb();
  let store = await db.open();
  return {
    store,
    async reopen() {
      await store.close();
      store = await db.open();
      return store;
    },
    async cleanup() {
      await store.close();
      db.cleanup();
    },
  };
});

test('postgres: a queued file is claimed only by the node whose disk holds it; recordings name their node', async () => {
  const db = await freshDb();
  const a = await openPostgresStore({ url: db.url, dataDir: db.dataDir, secretKey: KEY, poolMax: 2, nodeId: 'node-a' });
  const b = await openPostgresStore({ url: db.url, dataDir: db.dataDir, secretKey: KEY, poolMax: 2, nodeId: 'node b\\x' });
  try {
    const { rec, files } = sampleRecording();
    await a.catalog.addRecording(rec, files);
    await a.queue.enqueue(rec.recordingId, [files[0].name]);
    assert.equal(await b.queue.claim('node b\\x', 60_000), undefined, 'node B never takes node A\'s file');
    assert.equal(await b.queue.nextDueAt(), undefined, 'nor waits for it');
    const job = await a.queue.claim('node-a', 60_000);
    assert.equal(job?.file.name, files[0].name);
    assert.equal(job?.file.originNode, 'node-a');
    assert.equal((await b.catalog.getRecording(rec.recordingId))?.node, 'node-a', 'any node sees which node recorded it');
    const other = sampleRecording();
    await b.catalog.addRecording(other.rec, other.files);
    await b.queue.enqueue(other.rec.recordingId, [other.files[0].name]);
    assert.equal((await b.queue.claim('node b\\x', 60_000))?.file.originNode, 'node b\\x', 'a node id with a space and a backslash survives the connection options');
  } finally {
    await Promise.all([a.close(), b.close()]);
    db.cleanup();
  }
});

test('postgres: with adoptFromDeadNodes (shared storage) a node takes the queued files of a node not seen for 30 s, never of a live one', async () => {
  const db = await freshDb();
  const a = await openPostgresStore({ url: db.url, dataDir: db.dataDir, secretKey: KEY, poolMax: 2, nodeId: 'node-a' });
  const b = await openPostgresStore({ url: db.url, dataDir: db.dataDir, secretKey: KEY, poolMax: 2, nodeId: 'node-b' });
  try {
    const { rec, files } = sampleRecording();
    await a.catalog.addRecording(rec, files);
    await a.queue.enqueue(rec.recordingId, [files[0].name]);
    await a.nodes.heartbeat({ nodeId: 'node-a', version: 'test', startedAt: new Date().toISOString(), liveStreams: 0 });
    assert.equal(await b.queue.claim('node-b', 60_000, { adoptFromDeadNodes: true }), undefined, 'node A is alive: its files stay its own');
    await a.pool.query(`UPDATE cluster_nodes SET last_seen_at = now() - interval '31 seconds' WHERE node_id = 'node-a'`);
    assert.equal(await b.queue.claim('node-b', 60_000), undefined, 'off by default');
    assert.ok(await b.queue.nextDueAt({ adoptFromDeadNodes: true }), 'due for an adopting node');
    const job = await b.queue.claim('node-b', 60_000, { adoptFromDeadNodes: true });
    assert.equal(job?.file.name, files[0].name, 'adopted once node A is not seen for 30 s');
    assert.equal(job?.file.originNode, 'node-a');
  } finally {
    await Promise.all([a.close(), b.close()]);
    db.cleanup();
  }
});

test('postgres: three nodes starting at once migrate once; the schema is versioned', async () => {
  const db = await freshDb();
  try {
    const stores = await Promise.all([db.open(), db.open(), db.open()]);
    const versions = await stores[0].pool.query<{ version: number }>('SELECT version FROM schema_version ORDER BY version');
    assert.deepEqual(versions.rows.map((r) => r.version), PG_MIGRATIONS.map((_, i) => i + 1));
    await Promise.all(stores.map((s) => s.close()));
    const again = await db.open();
    assert.equal((await again.pool.query('SELECT COUNT(*) AS n FROM schema_version')).rows[0].n, PG_MIGRATIONS.length, 'a restart adds nothing');
    await again.close();
  } finally {
    db.cleanup();
  }
});

test('postgres: a database from a newer bucketcast is refused with a clear message', async () => {
  const db = await freshDb();
  try {
    const s = await db.open();
    await s.pool.query('INSERT INTO schema_version (version) VALUES ($1)', [PG_MIGRATIONS.length + 1]);
    await s.close();
    await assert.rejects(db.open(), /newer than this bucketcast/);
  } finally {
    db.cleanup();
  }
});

test('postgres: a node with another secret key is refused before it seals anything', async () => {
  const db = await freshDb();
  try {
    const a = await db.open();
    await a.credentials.create({ credentials: 'AKIDKEYCHECK1:secret-key-check' });
    await a.close();
    await assert.rejects(db.open(randomBytes(32).toString('hex')), (e: Error & { code?: string }) => e.code === 'secret_key_mismatch' && /same BUCKETCAST_SECRET_KEY/.test(e.message));
    const same = await db.open();
    assert.equal((await same.credentials.list()).items.length, 1);
    await same.close();
  } finally {
    db.cleanup();
  }
});

test('postgres: an unreachable database is a clear error that never shows the password', async () => {
  const pgServer = await postgres();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-pgstore-'));
  try {
    const wrongPassword = `postgres://postgres:not-the-password-${randomBytes(4).toString('hex')}@127.0.0.1:${pgServer.port}/postgres`;
    await assert.rejects(openPostgresStore({ url: wrongPassword, dataDir, secretKey: KEY }), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'database_unreachable');
      assert.match(e.message, /postgres:\*\*\*@127\.0\.0\.1/);
      assert.ok(!e.message.includes('not-the-password'), e.message);
      return true;
    });
    const closedPort = `postgres://postgres:${pgServer.password}@127.0.0.1:1/postgres`;
    await assert.rejects(openPostgresStore({ url: closedPort, dataDir, secretKey: KEY }), (e: Error & { code?: string }) => e.code === 'database_unreachable' && !e.message.includes(pgServer.password));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('postgres: nodes claiming uploads at once each get a different file (SKIP LOCKED)', async () => {
  const db = await freshDb();
  const stores = await Promise.all([db.open(), db.open(), db.open()]);
  try {
    const { rec, files } = sampleRecording();
    await stores[0].catalog.addRecording(rec, files);
    const names = files.filter((f) => f.kind !== 'metadata').map((f) => f.name);
    await stores[0].queue.enqueue(rec.recordingId, names);
    const jobs = (await Promise.all(stores.flatMap((s, i) => [0, 1].map(() => s.queue.claim(`node-${i}`, 60_000))))).filter((j) => j !== undefined);
    assert.equal(jobs.length, names.length, 'every due file is claimed, none twice');
    assert.equal(new Set(jobs.map((j) => j.file.id)).size, names.length);
  } finally {
    await Promise.all(stores.map((s) => s.close()));
    db.cleanup();
  }
});

test('postgres: one publisher per stream id across nodes; released at the end, lapsed when not renewed', async () => {
  const db = await freshDb();
  const [a, b] = await Promise.all([db.open(), db.open()]);
  try {
    assert.deepEqual(await a.streamClaims.claim('live', 'cam1', 'node-a', 60_000), { ok: true });
    assert.deepEqual(await b.streamClaims.claim('live', 'cam1', 'node-b', 60_000), { ok: false, heldBy: 'node-a' });
    assert.deepEqual(await b.streamClaims.claim('other', 'cam1', 'node-b', 60_000), { ok: true }, 'another app, another stream');
    assert.deepEqual(await a.streamClaims.claim('live', 'cam1', 'node-a', 60_000), { ok: true }, 'its own node may claim again');
    assert.equal(await b.streamClaims.release('live', 'cam1', 'node-b'), false, 'only the holder releases');
    assert.equal(await a.streamClaims.release('live', 'cam1', 'node-a'), true);
    assert.deepEqual(await b.streamClaims.claim('live', 'cam1', 'node-b', 300), { ok: true });
    // node-b stops renewing (it died): its claim lapses; renewing keeps the other one.
    assert.equal(await b.streamClaims.renew('node-b', [{ app: 'live', streamId: 'cam1' }, { app: 'live', streamId: 'not-held' }], 60_000), 1, 'only claims it holds');
    assert.equal(await a.streamClaims.renew('node-a', [{ app: 'live', streamId: 'cam1' }], 60_000), 0, 'not another node\'s');
    assert.deepEqual(await a.streamClaims.claim('live', 'cam1', 'node-a', 60_000), { ok: false, heldBy: 'node-b' }, 'a renewed claim holds');
    await b.pool.query(`UPDATE stream_claims SET lease_until = now() - interval '1 second' WHERE node_id = 'node-b' AND app = 'live'`);
    assert.deepEqual((await a.streamClaims.list()).map((c) => [c.app, c.streamId, c.nodeId]), [['other', 'cam1', 'node-b']], 'a lapsed claim is not listed');
    assert.deepEqual(await a.streamClaims.claim('live', 'cam1', 'node-a', 60_000), { ok: true }, 'a lapsed claim is taken over');
    assert.equal(await b.streamClaims.releaseNode('node-b'), 1);
    assert.deepEqual((await a.streamClaims.list()).map((c) => c.nodeId), ['node-a']);
  } finally {
    await Promise.all([a.close(), b.close()]);
    db.cleanup();
  }
});

test('postgres: two nodes racing for one stream id: exactly one wins', async () => {
  const db = await freshDb();
  const stores = await Promise.all([db.open(), db.open(), db.open()]);
  try {
    for (let round = 0; round < 5; round++) {
      const results = await Promise.all(stores.map((s, i) => s.streamClaims.claim('live', `race${round}`, `node-${i}`, 60_000)));
      assert.equal(results.filter((r) => r.ok).length, 1, `round ${round}: ${JSON.stringify(results)}`);
    }
  } finally {
    await Promise.all(stores.map((s) => s.close()));
    db.cleanup();
  }
});


test('postgres: app settings changes are announced to every node, and again after the database restarts', async () => {
  const db = await freshDb();
  const [a, b] = await Promise.all([db.open(), db.open()]);
  const heard: Array<string | null> = [];
  const errors: string[] = [];
  const watching = await b.appSettings.watch!((name) => heard.push(name), (m) => errors.push(m));
  const wait = async (pred: () => boolean, label: string, ms = 1000) => {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`${label}: not within ${ms} ms (heard ${JSON.stringify(heard)})`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  try {
    await a.appSettings.put('live', { name: 'live', hlsTime: 4 });
    await wait(() => heard.includes('live'), 'a save');
    await a.appSettings.markDeleted('gone');
    await wait(() => heard.includes('gone'), 'a deletion');
    const pgServer = await postgres();
    await pgServer.stopServer();
    await pgServer.startServer();
    await wait(() => heard.includes(null), 'the reconnect (re-read everything)', 15_000);
    assert.ok(errors.length >= 1, 'the lost connection was reported');
    heard.length = 0;
    await a.appSettings.put('after', { name: 'after' });
    await wait(() => heard.includes('after'), 'a save after the restart');
  } finally {
    await watching.close();
    await Promise.all([a.close(), b.close()]);
    db.cleanup();
  }
});

test('postgres: the parts of a multipart upload are recorded per upload, kept across a restart, and forgotten with it', async () => {
  const db = await freshDb();
  let store = await db.open();
  try {
    const { rec, files } = sampleRecording();
    await store.catalog.addRecording(rec, files);
    await store.queue.enqueue(rec.recordingId, [files[0].name]);
    const job = await store.queue.claim('node-1', 60_000);
    const id = job!.file.id;
    const part = (n: number) => ({ partNumber: n, size: 5 * 1024 * 1024, etag: `etag-${n}`, checksum: `md5-${n}` });
    await store.queue.setMultipart(id, { uploadId: 'u-1', bucket: 'b', key: 'k', partSize: 5 * 1024 * 1024 });
    await store.queue.addPart(id, 'u-1', part(2));
    await store.queue.addPart(id, 'u-1', part(1));
    await store.queue.addPart(id, 'u-1', { ...part(2), etag: 'etag-2b' });
    await store.close();
    store = await db.open();
    assert.deepEqual((await store.queue.parts(id, 'u-1')).map((p) => [p.partNumber, p.etag]), [[1, 'etag-1'], [2, 'etag-2b']], 'by part number, a resent part replaced');
    assert.deepEqual((await store.catalog.getRecording(rec.recordingId))!.files[0].multipart, { uploadId: 'u-1', bucket: 'b', key: 'k', partSize: 5 * 1024 * 1024 });
    await store.queue.setMultipart(id, { uploadId: 'u-2', bucket: 'b', key: 'k' });
    assert.deepEqual(await store.queue.parts(id, 'u-1'), [], 'a new upload starts without the old one\'s parts');
    await store.queue.addPart(id, 'u-2', part(1));
    await store.queue.complete(id, 'node-1', { bucket: 'b', key: 'k', url: 'http://s3/b/k', size: 10, sha256: 'ab'.repeat(32), etag: 'e', verifiedBy: 'head' });
    assert.deepEqual(await store.queue.parts(id, 'u-2'), [], 'completed: the parts are gone');
    assert.equal((await store.catalog.getRecording(rec.recordingId))!.files[0].multipart, undefined);
  } finally {
    await store.close();
    db.cleanup();
  }
});

test('postgres: parts: in progress, queued one by one, completed once, indexed by wall clock, deleted with the recording; requeue', async () => {
  const T0 = Date.parse('2026-11-22T18:50:03.000Z');
  const iso = (ms: number) => new Date(ms).toISOString();
  const part = (n: number) => ({
    part: n,
    name: `cam1_20261122T185003Z_p000${n}.mp4`,
    path: `/data/live/streams/cam1_20261122T185003Z_p000${n}.mp4`,
    size: 1000 * n,
    startedAt: iso(T0 + (n - 1) * 10_000),
    endedAt: iso(T0 + n * 10_000),
    durationSeconds: 10,
    offsetSeconds: (n - 1) * 10,
  });
  const facts = { recordingId: 'r1', app: 'live', streamId: 'cam1', protocol: 'rtmp' as const, name: 'cam1_20261122T185003Z', startedAt: iso(T0), endedAt: iso(T0), durationSeconds: 0, sizeBytes: 0, recovered: false };
  const db = await freshDb();
  const store = await db.open();
  try {
    const { catalog, queue } = store;
    for (const n of [1, 2]) {
      const p = part(n);
      await catalog.addPart(facts, p, { kind: 'mp4', name: p.name, localPath: p.path, size: p.size });
      await catalog.addPart(facts, p, { kind: 'mp4', name: p.name, localPath: p.path, size: p.size }); // announced twice: no change
      assert.equal(await queue.enqueue('r1', [p.name]), 1);
    }
    let r = (await catalog.getRecording('r1'))! as Awaited<ReturnType<typeof catalog.getRecording>> & { inProgress?: boolean; parts?: Array<{ part: number }> };
    assert.equal(r.inProgress, true);
    assert.equal(r.endedAt, iso(T0 + 20_000), 'the end grows with the parts');
    assert.equal(r.durationSeconds, 20);
    assert.equal(r.sizeBytes, 3000);
    assert.deepEqual(r.parts!.map((p) => p.part), [1, 2]);
    const backlog = await catalog.partBacklog();
    assert.equal(backlog.parts, 2);
    assert.equal(backlog.oldestEndedAt, iso(T0 + 10_000));
    const job = (await queue.claim('node', 60_000))!;
    assert.equal(job.file.name, part(1).name);
    await queue.complete(job.file.id, 'node', { bucket: 'b', key: `streams/${job.file.name}`, url: 'u', size: 1000, sha256: 'x', etag: 'e', verifiedBy: 'head' });
    assert.deepEqual(await catalog.partBacklog(), { parts: 1, uploaded: 1, oldestEndedAt: iso(T0 + 20_000) });

    const all = [1, 2, 3].map(part);
    await catalog.addRecording({ ...facts, endedAt: iso(T0 + 30_000), durationSeconds: 30, sizeBytes: 6000, recovered: true }, all.map((p) => ({ kind: 'mp4' as const, name: p.name, localPath: p.path, size: p.size })), all);
    r = (await catalog.getRecording('r1'))!;
    assert.equal(r.inProgress, undefined);
    assert.equal(r.recovered, true);
    assert.equal(r.durationSeconds, 30);
    assert.deepEqual(r.files.map((f) => [f.name, f.state]), [[part(1).name, 'uploaded'], [part(2).name, 'queued'], [part(3).name, 'local']]);
    await catalog.addRecording({ ...facts, durationSeconds: 1, sizeBytes: 1 }, [], []);
    assert.equal((await catalog.getRecording('r1'))!.durationSeconds, 30, 'a finished recording is not changed');

    const between = await catalog.partsBetween('live', 'cam1', iso(T0 + 15_000), iso(T0 + 21_000));
    assert.deepEqual(between.map((p) => p.part), [2, 3]);
    assert.equal(between[0].localPath, part(2).path);
    assert.equal((await catalog.partsBetween('live', 'cam1', iso(T0 + 30_000), iso(T0 + 40_000))).length, 0, 'a part ending at from is not in');
    const overlapping = await catalog.listRecordings({ from: iso(T0 + 25_000), to: iso(T0 + 26_000) });
    assert.deepEqual(overlapping.map((x) => [x.recordingId, (x as { parts?: unknown[] }).parts!.length]), [['r1', 3]]);
    assert.equal(await catalog.countRecordings({ from: iso(T0 + 31_000) }), 0);

    // requeue: an uploaded file goes back to the queue with new content; one being uploaded is left alone.
    assert.equal(await queue.requeue('r1', part(1).name, { localPath: '/new/p1.mp4', size: 1234 }), true);
    const again = (await catalog.getRecording('r1'))!.files[0];
    assert.deepEqual([again.state, again.localPath, again.size], ['queued', '/new/p1.mp4', 1234]);
    const busy = (await queue.claim('node', 60_000))!;
    assert.equal(await queue.requeue('r1', busy.file.name, { localPath: '/x', size: 1 }), false);
    assert.equal(await catalog.relocate('r1', part(3).name, '/elsewhere'), false, 'only an uploaded file is relocated');

    assert.equal(await catalog.deleteRecording('r1'), true);
    assert.deepEqual(await catalog.listParts('r1'), []);
  } finally {
    await store.close();
    db.cleanup();
  }
});
