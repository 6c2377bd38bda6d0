/**
 * Several nodes on one catalog: three real bucketcast processes on
 * one PostgreSQL (Debian's, initdb + pg_ctl in a temp dir) and one S3 server.
 * - a push to node A is recorded, uploaded, and plays through node C's stable
 *   URL (bytes equal to the object); C lists the recording with node A and,
 *   while it is live, the stream under `elsewhere` and its live playlist and
 *   segments (fetched from A); B refuses the id meanwhile;
 * - a file still only on A's disk (uploads off) plays through C, fetched
 *   from A (`X-Bucketcast-Node`); a request that comes from a peer is never
 *   sent on (`X-Bucketcast-Peer: 1`);
 * - `GET /api/v1/nodes` shows every node alive with its URL; metrics carry
 *   the node label;
 * - a kick sent to C of a stream live on A ends it on A; a stream held by a
 *   node that never answers is 504 `kick_timeout`;
 * - a recording name another node reserved gets `-2` here;
 * - the panel on C shows the nodes and a stream live on A, and kicks it there;
 * - C's events channel carries A's stream and recording events, with `node`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { startPostgres, type Postgres } from '../helpers/postgres.js';
import { startServer, until, type TestServer } from '../helpers/server.js';
import { credentialEnv, s3SettingsFor, startS3Target, type S3TestTarget } from '../helpers/s3.js';
import { fixture } from '../helpers/fixtures.js';
import { push } from '../helpers/media.js';
import { adminEnv, login, type ApiClient } from '../helpers/api.js';
import { utcStamp } from '../../src/recording/naming.js';
import WebSocket from 'ws';
import { launchChromium } from '../helpers/player-browser.js';
import { confirm, logIn, nav, openPanel } from '../helpers/panel.js';

const BUCKET = 'cluster';
const SECRET_KEY = randomBytes(32).toString('hex');

let pgServer: Postgres;
let s3: S3TestTarget;
let db: pg.Client;
let nodes: TestServer[] = [];
let apis: ApiClient[] = [];
let ids: string[] = [];
let src: string;

before(async () => {
  [pgServer, s3] = await Promise.all([startPostgres(), startS3Target()]);
  await s3.createBucket(BUCKET);
  const url = await pgServer.createDatabase();
  const config = {
    applications: [
      { name: 'live', previews: { enabled: false }, s3: s3SettingsFor(s3, BUCKET), httpForwardingExtension: 'mp4,m3u8', httpForwardingMode: 'proxy' },
      { name: 'local', previews: { enabled: false }, s3RecordingEnabled: false },
    ],
  };
  const env = adminEnv({ ...credentialEnv(s3), BUCKETCAST_DATABASE_URL: url, BUCKETCAST_SECRET_KEY: SECRET_KEY });
  nodes = await Promise.all([0, 1, 2].map(() => startServer({ events: true, env, config })));
  apis = await Promise.all(nodes.map((n) => login(n)));
  ids = nodes.map((n) => readFileSync(path.join(n.dataDir, 'node-id'), 'utf8').trim());
  db = new pg.Client({ connectionString: url });
  await db.connect();
  src = await fixture({ seconds: 4, width: 320, height: 240, videoKbps: 300 });
});

after(async () => {
  await db?.end().catch(() => undefined);
  await Promise.all(nodes.map((n) => n.stop()));
  for (const n of nodes) n.cleanup();
  await s3?.cleanup();
  await pgServer?.stop();
});

test('GET /api/v1/nodes: every node alive, with the URL its peers reach it at; metrics carry the node label', async () => {
  const r = await apis[2].get('/api/v1/nodes');
  assert.equal(r.status, 200);
  const listed = r.json.nodes as Array<{ nodeId: string; alive: boolean; self: boolean; internalUrl: string; liveStreams: number }>;
  assert.deepEqual(listed.map((n) => n.nodeId).sort(), [...ids].sort());
  for (const [i, id] of ids.entries()) {
    const n = listed.find((x) => x.nodeId === id)!;
    assert.equal(n.alive, true, id);
    assert.equal(n.self, i === 2);
    assert.equal(n.internalUrl, nodes[i].httpUrl, 'host 127.0.0.1 and the port it listens on');
  }
  const metrics = await apis[0].get('/metrics');
  assert.match(metrics.text, new RegExp(`^bucketcast_live_streams\\{app="live",protocol="rtmp",node="${ids[0]}"\\} 0$`, 'm'));
});

test('a push to A is recorded, uploaded, and plays through C (bytes equal to the object); C shows it live elsewhere, then its recording with node A; B refuses the id meanwhile', async () => {
  const [a, b, c] = nodes;
  const onA = push(a.rtmpUrl('live', 'cam'), src, { loop: true });
  const started = await a.events.waitFor('recording.started', (e) => !e.node && e.streamId === 'cam', 30_000, 'recording started on A');
  const name = String(started.name);
  const live = await until(async () => {
    const r = await apis[2].get('/api/v1/streams');
    return (r.json.elsewhere as Array<{ app: string; streamId: string; node: string }>).find((s) => s.streamId === 'cam');
  }, 10_000, 'the stream listed elsewhere on C');
  assert.equal(live.node, ids[0]);
  assert.equal(live.app, 'live');
  const onA2 = (await apis[0].get('/api/v1/streams')).json.streams.find((s: { streamId: string }) => s.streamId === 'cam');
  assert.equal(onA2.node, ids[0], 'A lists it as its own');

  const refused = await push(b.rtmpUrl('live', 'cam'), src, { seconds: 2 }).done;
  assert.notEqual(refused.code, 0, 'B refuses a publisher of the id live on A');
  await b.events.waitFor('stream.refused', (e) => e.streamId === 'cam' && e.code === 'stream_busy', 10_000, 'B refused it');

  // The live playlist and its segments play through C too, fetched from A while the stream is live there.
  const playlist = await until(async () => {
    const r = await fetch(`${c.httpUrl}/live/streams/cam.m3u8`);
    const text = r.status === 200 ? await r.text() : '';
    return /\.ts/.test(text) ? { text, node: r.headers.get('x-bucketcast-node') } : undefined;
  }, 30_000, 'the live playlist through C');
  assert.equal(playlist.node, ids[0]);
  const segment = playlist.text.split('\n').find((l) => l.endsWith('.ts'))!;
  assert.ok(segment.startsWith(name), segment);
  const seg = await fetch(`${c.httpUrl}/live/streams/${segment}`);
  assert.equal(seg.status, 200);
  assert.equal(seg.headers.get('x-bucketcast-node'), ids[0]);
  assert.ok((await seg.arrayBuffer()).byteLength > 1000);
  await onA.stop();
  await a.events.waitFor('upload.completed', (e) => e.kind === 'metadata' && e.key === `streams/${name}.json`, 120_000, 'recording uploaded by A');
  // A's stream ended: B may publish the id now.
  await until(async () => (await db.query(`SELECT 1 FROM stream_claims WHERE stream_id = 'cam'`)).rows.length === 0, 10_000, 'A released the claim');
  const onB = await push(b.rtmpUrl('live', 'cam'), src, { seconds: 2 }).done;
  assert.equal(onB.code, 0, `B accepts the id once A's stream ended: ${onB.stderr}`);
  await b.events.waitFor('stream.started', (e) => !e.node && e.streamId === 'cam', 10_000, 'publish accepted on B');
  for (const n of [b, c]) assert.ok(!n.logs.some((l) => (l.msg === 'upload started' || l.msg === 'upload completed') && String(l.key ?? '').includes(name)), 'only A uploads what is on its disk');
  const files = await db.query<{ origin_node: string; attempts: number; state: string }>(
    `SELECT f.origin_node, f.attempts, f.state FROM recording_files f JOIN recordings r ON r.id = f.recording_id WHERE r.name = $1`,
    [name],
  );
  assert.ok(files.rows.length >= 3);
  for (const f of files.rows) {
    assert.equal(f.origin_node, ids[0]);
    assert.equal(f.attempts, 0, 'no failed attempt by a node that cannot read the file');
    assert.equal(f.state, 'uploaded');
  }

  const rec = (await apis[2].get('/api/v1/recordings?streamId=cam')).json.recordings.find((r: { name: string }) => r.name === name);
  assert.ok(rec, 'C lists A\'s recording');
  assert.equal(rec.node, ids[0], 'C lists the recording with the node that made it');
  const object = await s3.getObject(BUCKET, `streams/${name}.mp4`);
  const res = await fetch(`${c.httpUrl}/live/streams/${name}.mp4`);
  assert.equal(res.status, 200);
  const body = Buffer.from(await res.arrayBuffer());
  assert.ok(body.length > 10_000);
  assert.ok(body.equals(object), 'C serves the bytes of the object');
});

test('a file still on A\'s disk only (uploads off) plays through C, fetched from A; a request from a peer is not sent on', async () => {
  const [a, , c] = nodes;
  const pushed = push(a.rtmpUrl('local', 'cam2'), src);
  const started = await a.events.waitFor('recording.started', (e) => !e.node && e.streamId === 'cam2', 30_000, 'recording started on A');
  assert.equal((await pushed.done).code, 0);
  const name = String(started.name);
  await a.events.waitFor('recording.completed', (e) => !e.node && e.name === name, 60_000, 'recording completed on A');
  const local = readFileSync(path.join(a.dataDir, 'local', 'streams', `${name}.mp4`));
  await until(async () => (await fetch(`${c.httpUrl}/local/streams/${name}.mp4`, { method: 'HEAD' })).status === 200, 20_000, 'C answers once the catalog has it');
  const head = await fetch(`${c.httpUrl}/local/streams/${name}.mp4`, { method: 'HEAD' });
  assert.equal(head.headers.get('x-bucketcast-node'), ids[0]);
  assert.equal(Number(head.headers.get('content-length')), local.length);
  const res = await fetch(`${c.httpUrl}/local/streams/${name}.mp4`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-bucketcast-node'), ids[0]);
  assert.ok(Buffer.from(await res.arrayBuffer()).equals(local), 'the bytes of A\'s file');
  const ranged = await fetch(`${c.httpUrl}/local/streams/${name}.mp4`, { headers: { range: 'bytes=100-199' } });
  assert.equal(ranged.status, 206);
  assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(local.subarray(100, 200)), 'a range is passed on');
  const fromPeer = await fetch(`${c.httpUrl}/local/streams/${name}.mp4`, { headers: { 'X-Bucketcast-Peer': '1' } });
  assert.equal(fromPeer.status, 404, 'a peer request is answered from C\'s own disk only');
  assert.equal((await fetch(`${c.httpUrl}/local/streams/nope_20260101T000000Z.mp4`)).status, 404);
});

test('a kick sent to C of a stream live on A ends it on A; a stream held by a node that never answers is 504 kick_timeout', async () => {
  const [a] = nodes;
  const pushed = push(a.rtmpUrl('live', 'kickme'), src, { loop: true });
  await a.events.waitFor('stream.started', (e) => !e.node && e.streamId === 'kickme', 30_000, 'publish accepted on A');
  const r = await apis[2].post('/api/v1/streams/live/kickme/kick');
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.node, ids[0]);
  assert.equal(r.json.ended, true);
  assert.ok(a.logs.some((l) => l.msg === 'kick relayed from another node' && l.streamId === 'kickme'));
  await a.events.waitFor('stream.ended', (e) => !e.node && e.streamId === 'kickme', 10_000, 'publish ended on A');
  await pushed.done;

  await db.query(`INSERT INTO stream_claims (app, stream_id, node_id, claimed_at, lease_until) VALUES ('live', 'ghost', 'ghost-node', now(), now() + interval '5 minutes')`);
  const t0 = Date.now();
  const timedOut = await apis[2].post('/api/v1/streams/live/ghost/kick');
  assert.equal(timedOut.status, 504);
  assert.equal(timedOut.json.error.code, 'kick_timeout');
  assert.ok(Date.now() - t0 >= 9_500, `waited ${Date.now() - t0} ms`);
  await db.query(`DELETE FROM stream_claims WHERE stream_id = 'ghost'`);
  assert.equal((await apis[2].post('/api/v1/streams/live/nobody/kick')).status, 404);
});

test('an app setting changed through C applies on A and B within a second', async (t) => {
  const r = await apis[2].patch('/api/v1/applications/local', { hlsTime: 4 });
  assert.equal(r.status, 200);
  const t0 = Date.now();
  await Promise.all([0, 1].map((i) => until(async () => (await apis[i].get('/api/v1/applications/local')).json.settings?.hlsTime === 4, 5_000, `node ${i} has it`, 20)));
  const ms = Date.now() - t0;
  t.diagnostic(`applied on A and B ${ms} ms after C answered`);
  assert.ok(ms < 1000, `${ms} ms`);
});

test('a recording name another node reserved gets -2 here', async () => {
  const [, b] = nodes;
  // Another node reserved dup_<second> for every second of the next two minutes.
  const now = Date.now();
  for (let s = -5; s < 120; s++) {
    await db.query(`INSERT INTO recording_names (app, name, node_id) VALUES ('local', $1, 'ghost-node') ON CONFLICT DO NOTHING`, [`dup_${utcStamp(new Date(now + s * 1000))}`]);
  }
  const pushed = push(b.rtmpUrl('local', 'dup'), src, { seconds: 2 });
  const started = await b.events.waitFor('recording.started', (e) => !e.node && e.streamId === 'dup', 30_000, 'recording started on B');
  await pushed.done;
  assert.match(String(started.name), /^dup_\d{8}T\d{6}Z-2$/);
  const owner = await db.query<{ node_id: string }>(`SELECT node_id FROM recording_names WHERE app = 'local' AND name = $1`, [started.name]);
  assert.equal(owner.rows[0]?.node_id, ids[1], 'B reserved it');
});

test('the panel on C: every node with its health, a stream live on A under "Live on other nodes", kicked from there', async () => {
  const [a, , c] = nodes;
  const browser = await launchChromium();
  const pushed = push(a.rtmpUrl('live', 'panelcam'), src, { loop: true });
  try {
    const page = await openPanel(browser, c);
    await logIn(page);
    await nav(page, 'streams');
    for (const id of ids) await page.waitForSelector(`#nodes tr[data-node="${id}"][data-alive="true"]`, { timeout: 15_000 });
    const item = `#elsewhere li[data-stream="live/panelcam"][data-node="${ids[0]}"]`;
    await page.waitForSelector(item, { timeout: 30_000 });
    await page.click(`${item} [data-action="kick"]`);
    await confirm(page);
    await a.events.waitFor('stream.ended', (e) => !e.node && e.streamId === 'panelcam', 20_000, 'publish ended on A');
    await page.waitForSelector(item, { state: 'detached', timeout: 20_000 });
    assert.deepEqual(page.errors, []);
  } finally {
    await pushed.stop();
    await browser.close();
  }
});

test('C\'s events channel carries the stream and recording events of A, each with its node, within a second', async (t) => {
  const [a, , c] = nodes;
  const ws = new WebSocket(`ws://127.0.0.1:${c.httpPort}/api/v1/events`, { headers: { cookie: apis[2].auth.cookie!, origin: c.httpUrl } });
  const got: Array<{ type: string; data: Record<string, unknown>; seenAt: number }> = [];
  ws.on('message', (m) => {
    const msg = JSON.parse(String(m)) as { type: string; data: Record<string, unknown> };
    got.push({ ...msg, seenAt: Date.now() });
  });
  await until(() => got.some((m) => m.type === 'hello'), 10_000, 'hello');
  try {
    const pushed = push(a.rtmpUrl('local', 'evcam'), src, { seconds: 3 });
    const accepted = await a.events.waitFor('stream.started', (e) => !e.node && e.streamId === 'evcam', 30_000, 'publish accepted on A');
    const started = await until(() => got.find((m) => m.type === 'stream.started' && m.data.streamId === 'evcam'), 10_000, 'stream.started on C');
    assert.equal(started.data.node, ids[0]);
    const lag = started.seenAt - a.events.sentAt(accepted);
    t.diagnostic(`stream.started reached C's channel ${lag} ms after A announced the publish`);
    assert.ok(lag < 1000, `${lag} ms`);
    await pushed.done;
    const completed = await until(() => got.find((m) => m.type === 'recording.completed' && m.data.streamId === 'evcam'), 60_000, 'recording.completed on C');
    assert.equal(completed.data.node, ids[0]);
    assert.ok(got.some((m) => m.type === 'stream.ended' && m.data.streamId === 'evcam' && m.data.node === ids[0]));
    assert.ok(!JSON.stringify(completed.data).includes(a.dataDir), 'no local path of A');
  } finally {
    ws.close();
  }
});
