/**
 * Nodes dying and the database going away: three real bucketcast
 * processes on one PostgreSQL and one S3 server.
 * - node A SIGKILLed in the middle of a multipart upload and restarted: the
 *   object lands exactly once, no incomplete multipart upload remains, the
 *   other nodes never touched A's file (it is on A's disk), and one
 *   `recordingUploaded` webhook is delivered though three nodes run the outbox;
 *   while A is down, C answers a URL of A's file without hanging on A;
 * - node B SIGKILLed while it holds a live publish: within the claim lease the
 *   stream id is publishable on another node, and B shows dead in
 *   `GET /api/v1/nodes`;
 * - PostgreSQL stopped while a node records: the API answers 503
 *   `database_unavailable` with `Retry-After: 5`, the publish goes on, and the
 *   recording is complete and uploaded once the database is back.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startPostgres, type Postgres } from '../helpers/postgres.js';
import { startServer, until, type ServerOptions, type TestServer } from '../helpers/server.js';
import { credentialEnv, s3SettingsFor, startS3Target, type S3TestTarget } from '../helpers/s3.js';
import { fixture } from '../helpers/fixtures.js';
import { push } from '../helpers/media.js';
import { adminEnv, login } from '../helpers/api.js';
import { plantBigRecording, sha256File } from '../helpers/big-recording.js';

const BUCKET = 'crashes';
const SECRET_KEY = randomBytes(32).toString('hex');

let pgServer: Postgres;
let s3: S3TestTarget;
let db: pg.Client;
let url: string;
const hooks: Array<{ event: string; body: string }> = [];
let receiver: http.Server;
const running = new Set<TestServer>();

before(async () => {
  [pgServer, s3] = await Promise.all([startPostgres(), startS3Target()]);
  await s3.createBucket(BUCKET);
  url = await pgServer.createDatabase();
  db = new pg.Client({ connectionString: url });
  // The last test stops PostgreSQL: this client's connection goes then (it is not used after).
  db.on('error', () => undefined);
  await db.connect();
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      hooks.push({ event: String(JSON.parse(body).event), body });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
});

after(async () => {
  await db?.end().catch(() => undefined);
  await Promise.all([...running].map((n) => n.stop()));
  for (const n of running) n.cleanup();
  receiver?.close();
  await s3?.cleanup();
  await pgServer?.stop();
});

function options(dataDir?: string): ServerOptions {
  const hook = { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, secret: 'whsec_cluster_0123456789' };
  return {
    events: true,
    dataDir,
    env: adminEnv({ ...credentialEnv(s3), BUCKETCAST_DATABASE_URL: url, BUCKETCAST_SECRET_KEY: SECRET_KEY }),
    config: {
      applications: [{ name: 'live', previews: { enabled: false }, s3: s3SettingsFor(s3, BUCKET, { partSizeMiB: 5, queueSize: 1 }), httpForwardingExtension: 'mp4', httpForwardingMode: 'proxy', webhooks: [hook] }],
      api: { webhooks: { retryMaxDelaySeconds: 1, timeoutSeconds: 3 } },
    },
  };
}

async function start(dataDir?: string): Promise<TestServer> {
  const s = await startServer(options(dataDir));
  running.add(s);
  return s;
}

const nodeIdOf = (s: TestServer) => readFileSync(path.join(s.dataDir, 'node-id'), 'utf8').trim();

let b: TestServer;
let c: TestServer;

test('node A SIGKILLed mid multipart upload and restarted: the object lands once, no multipart upload left, other nodes never take its file, one recordingUploaded across the cluster', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-cluster-a-'));
  const name = 'big_20261122T120000Z';
  const { paths } = await plantBigRecording(dataDir, name, { seconds: 2 });
  [b, c] = await Promise.all([start(), start()]);
  const a1 = await start(dataDir);
  const started = await a1.waitForLog((l) => l.msg === 'multipart upload started', 120_000, 'multipart upload started on A');
  await a1.events.waitFor('upload.progress', (e) => Number(e.loaded) > 0 && Number(e.loaded) < Number(e.total), 120_000, 'upload progress');
  a1.killGroup('SIGKILL');
  assert.equal((await a1.exited).signal, 'SIGKILL');
  running.delete(a1);
  assert.deepEqual(a1.events.all('upload.completed'), [], 'killed before the upload completed');
  const localSum = await sha256File(paths.final);
  const localSize = statSync(paths.final).size;

  // A is down: C knows the file is on A's disk, finds A unreachable, and answers without hanging (the bucket has no object yet).
  const t0 = Date.now();
  const meanwhile = await fetch(`${c.httpUrl}/live/streams/${name}.mp4`, { method: 'HEAD' });
  assert.equal(meanwhile.status, 404);
  assert.ok(Date.now() - t0 < 5000, `answered in ${Date.now() - t0} ms`);
  const row = await db.query<{ origin_node: string; state: string; lease_owner: string }>(`SELECT origin_node, state, lease_owner FROM recording_files WHERE name = $1`, [`${name}.mp4`]);
  assert.equal(row.rows[0].state, 'uploading', 'still leased by the dead node');

  const a2 = await start(dataDir);
  assert.equal(nodeIdOf(a2), row.rows[0].origin_node, 'the restarted node is the file\'s node');
  const resumed = await a2.waitForLog((l) => l.msg === 'resuming a multipart upload', 60_000, 'resuming the interrupted upload');
  assert.equal(resumed.uploadId, started.uploadId);
  await a2.events.waitFor('upload.completed', (e) => e.kind === 'metadata' && e.key === `streams/${name}.json`, 180_000, 'recording uploaded');

  const key = `streams/${name}.mp4`;
  assert.equal((await s3.headObject(BUCKET, key)).size, localSize);
  assert.equal(createHash('sha256').update(await s3.getObject(BUCKET, key)).digest('hex'), localSum, 'the object is intact');
  assert.equal(s3.writes(BUCKET).get(key), 1, 'the object was completed once');
  assert.deepEqual(await s3.listMultipartUploads(BUCKET), [], 'no incomplete multipart upload');
  assert.deepEqual(s3.pendingUploadDirs(BUCKET), [], 'no parts left on the server');
  for (const other of [b, c]) {
    assert.ok(!other.logs.some((l) => l.msg === 'upload started' || l.msg === 'multipart upload started'), 'B and C never took A\'s files');
  }
  const attempts = await db.query<{ n: number }>(`SELECT COALESCE(SUM(attempts), 0)::int AS n FROM recording_files WHERE name LIKE $1`, [`${name}%`]);
  assert.equal(attempts.rows[0].n, 0, 'no failed attempt by a node that cannot read the file');

  await until(() => hooks.some((h) => h.event === 'recordingUploaded' && h.body.includes(name)), 30_000, 'recordingUploaded delivered');
  // Every node's outbox runs every second or so: give them time to deliver it twice if they could.
  await new Promise((r) => setTimeout(r, 4000));
  assert.equal(hooks.filter((h) => h.event === 'recordingUploaded' && h.body.includes(name)).length, 1, 'delivered once across three nodes');
});

test('node B SIGKILLed while it holds a live publish: within the lease the id is publishable on C; B shows dead', async (t) => {
  const src = await fixture({ seconds: 4, width: 320, height: 240, videoKbps: 300 });
  const onB = push(b.rtmpUrl('live', 'orphan'), src, { loop: true });
  await b.events.waitFor('stream.started', (e) => !e.node && e.streamId === 'orphan', 30_000, 'publish accepted on B');
  const idB = nodeIdOf(b);
  b.killGroup('SIGKILL');
  const killedAt = Date.now();
  await b.exited;
  running.delete(b);
  await onB.done;
  // Publish on C until it is accepted: refused (stream_busy) while B's claim lives.
  let accepted = false;
  let tries = 0;
  while (!accepted && Date.now() - killedAt < 30_000) {
    tries++;
    const p = push(c.rtmpUrl('live', 'orphan'), src, { seconds: 1 });
    const r = await p.done;
    accepted = r.code === 0 && c.events.all('stream.started', (e) => !e.node && e.streamId === 'orphan').length > 0;
  }
  const after = Date.now() - killedAt;
  assert.ok(accepted, 'C accepts the id');
  t.diagnostic(`publishable on C ${after} ms after B was killed (${tries} tries)`);
  assert.ok(tries > 1, 'refused while B\'s claim was live');
  assert.ok(after < 15_000 + 5_000, `publishable ${after} ms after the kill (lease 15 s)`);
  const api = await login(c);
  const nodes = await until(async () => {
    const listed = (await api.get('/api/v1/nodes')).json.nodes as Array<{ nodeId: string; alive: boolean }>;
    return listed.find((n) => n.nodeId === idB && !n.alive) ? listed : undefined;
  }, 15_000, 'B shown dead');
  assert.equal(nodes.filter((n) => n.alive).length, 2);
});

test('PostgreSQL stopped while a node records: the API answers 503 database_unavailable, the publish goes on, the recording is uploaded once it is back', async () => {
  const src = await fixture({ seconds: 8, width: 320, height: 240, videoKbps: 300 });
  const api = await login(c);
  const pushed = push(c.rtmpUrl('live', 'outage'), src);
  const started = await c.events.waitFor('recording.started', (e) => !e.node && e.streamId === 'outage', 30_000, 'recording started');
  const name = String(started.name);
  await pgServer.stopServer();
  try {
    const r = await api.get('/api/v1/recordings');
    assert.equal(r.status, 503);
    assert.equal(r.json.error.code, 'database_unavailable');
    assert.equal(r.headers.get('retry-after'), '5');
    const pushedResult = await pushed.done;
    assert.equal(pushedResult.code, 0, `the publish is not disturbed: ${pushedResult.stderr}`);
  } finally {
    await pgServer.startServer();
  }
  await c.events.waitFor('upload.completed', (e) => e.kind === 'metadata' && e.key === `streams/${name}.json`, 120_000, 'recording uploaded after the database returned');
  const head = await s3.headObject(BUCKET, `streams/${name}.mp4`);
  assert.ok(head.size > 10_000);
  const rec = (await api.get(`/api/v1/recordings?streamId=outage`)).json.recordings[0];
  assert.ok(Math.abs(rec.durationSeconds - 8) < 1, `complete: ${rec.durationSeconds} s`);
  assert.equal(rec.uploadState, 'uploaded');
});
