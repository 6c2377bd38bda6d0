/**
 * Bucketcast nodes on PostgreSQL. A node given
 * `BUCKETCAST_DATABASE_URL` keeps its state there (never logging the
 * password), refuses to start without it, and two nodes sharing one database
 * let one publisher at a time take a stream id: a publish of an id live on
 * node A is refused on node B, and accepted there once A's stream ended; an
 * application changed through one node applies on the other within a second.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startPostgres, type Postgres } from '../helpers/postgres.js';
import { ROOT, SERVER_NODE_FLAGS, startServer, until, type LogLine, type TestServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push } from '../helpers/media.js';
import { adminEnv, login } from '../helpers/api.js';

let pgServer: Postgres;
before(async () => {
  pgServer = await startPostgres();
});
after(async () => {
  await pgServer?.stop();
});

const SECRET_KEY = randomBytes(32).toString('hex');

/** Runs the server until it exits (start-up failures): its exit code and every output line. */
async function runToExit(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-pgfail-'));
  try {
    const config = path.join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ applications: [{ name: 'live', s3RecordingEnabled: false }] }));
    const proc = spawn(process.execPath, [...SERVER_NODE_FLAGS, '--import', 'tsx', path.join(ROOT, 'src/main.ts')], {
      cwd: ROOT,
      env: { ...process.env, BUCKETCAST_CONFIG: config, BUCKETCAST_DATA_DIR: path.join(dir, 'data'), BUCKETCAST_HTTP_PORT: '0', BUCKETCAST_RTMP_PORT: '0', BUCKETCAST_HOST: '127.0.0.1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    proc.stdout!.on('data', (d) => (output += d));
    proc.stderr!.on('data', (d) => (output += d));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
    const code = await new Promise<number | null>((resolve) => proc.on('exit', (c) => resolve(c)));
    clearTimeout(timer);
    return { code, output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a node that cannot reach its database says so, without the password, and exits non-zero', async () => {
  const marker = `pw-${randomBytes(6).toString('hex')}`;
  const cases = [
    { label: 'nothing listening', url: `postgres://bucketcast:${marker}@127.0.0.1:1/bucketcast`, why: /ECONNREFUSED/ },
    { label: 'wrong password', url: `postgres://postgres:${marker}@127.0.0.1:${pgServer.port}/postgres`, why: /password authentication failed/ },
  ];
  for (const c of cases) {
    const r = await runToExit({ BUCKETCAST_DATABASE_URL: c.url, BUCKETCAST_SECRET_KEY: SECRET_KEY });
    assert.equal(r.code, 1, `${c.label}: exit code\n${r.output}`);
    const fatal = r.output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine)
      .find((l) => l.msg === 'start-up failed');
    assert.ok(fatal, `${c.label}: a start-up failure is logged\n${r.output}`);
    assert.match(String(fatal.err), /^cannot reach the database at postgres:\/\/\w+:\*\*\*@127\.0\.0\.1:\d+\/\w+/, c.label);
    assert.match(String(fatal.err), c.why, c.label);
    assert.ok(!r.output.includes(marker), `${c.label}: the password is never printed`);
  }
});

test('a database URL that is not postgres:// is a configuration error naming the key, not its value', async () => {
  const r = await runToExit({ BUCKETCAST_DATABASE_URL: 'mysql://root:hunter2-secret@db/x' });
  assert.equal(r.code, 2, r.output);
  assert.match(r.output, /server\.databaseUrl: must be a postgres:\/\/ \(or postgresql:\/\/\) URL/);
  assert.ok(!r.output.includes('hunter2-secret'));
});

test('two nodes on one database: a stream id live on A is refused on B, and B may publish it after A ended', async () => {
  const url = await pgServer.createDatabase();
  const env = { BUCKETCAST_DATABASE_URL: url, BUCKETCAST_SECRET_KEY: SECRET_KEY };
  const db = new pg.Client({ connectionString: url });
  let a: TestServer | undefined;
  let b: TestServer | undefined;
  try {
    [a, b] = await Promise.all([startServer({ events: true, env }), startServer({ events: true, env })]);
    for (const s of [a, b]) {
      const opened = s.logs.find((l) => l.msg === 'store opened');
      assert.equal(opened?.store, 'postgres');
      assert.match(String(opened?.location), /^postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:/);
    }
    await db.connect();
    const src = await fixture({ seconds: 4, width: 320, height: 240, videoKbps: 300 });
    const onA = push(a.rtmpUrl('live', 'shared'), src, { loop: true });
    await a.events.waitFor('stream.started', (e) => !e.node && e.streamId === 'shared', 20_000, 'publish accepted on A');
    const claim = await db.query<{ node_id: string }>(`SELECT node_id FROM stream_claims WHERE app = 'live' AND stream_id = 'shared'`);
    assert.equal(claim.rows.length, 1, 'A holds the claim in the database');

    const refused = await push(b.rtmpUrl('live', 'shared'), src, { seconds: 2 }).done;
    assert.notEqual(refused.code, 0, 'B refuses the publisher');
    const refusal = await b.events.waitFor('stream.refused', (e) => e.streamId === 'shared', 10_000, 'publish refused on B');
    assert.equal(refusal.code, 'stream_busy');
    assert.match(refusal.reason, new RegExp(`already being published on node ${claim.rows[0].node_id}`));
    assert.deepEqual(b.events.all('stream.started', (e) => !e.node && e.streamId === 'shared'), [], 'B did not accept it');
    assert.equal((await push(b.rtmpUrl('live', 'other'), src, { seconds: 2 }).done).code, 0, 'another stream id publishes on B');

    await onA.stop();
    await a.events.waitFor('stream.ended', (e) => !e.node && e.streamId === 'shared', 10_000, 'publish ended on A');
    await until(async () => (await db.query(`SELECT 1 FROM stream_claims WHERE stream_id = 'shared'`)).rows.length === 0, 10_000, 'the claim released');
    const onB = await push(b.rtmpUrl('live', 'shared'), src, { seconds: 3 }).done;
    assert.equal(onB.code, 0, `B accepts the stream id now: ${onB.stderr}`);
    await b.events.waitFor('stream.started', (e) => !e.node && e.streamId === 'shared', 10_000, 'publish accepted on B');

    const everything = [...a.logs, ...b.logs].map((l) => JSON.stringify(l)).join('\n') + a.otherOutput.join('\n') + b.otherOutput.join('\n');
    assert.ok(!everything.includes(pgServer.password), 'no log line carries the database password');
  } finally {
    await db.end().catch(() => undefined);
    await Promise.all([a?.stop(), b?.stop()]);
    a?.cleanup();
    b?.cleanup();
  }
});

test('an application changed, created or deleted through node B applies on node A within a second', async (t) => {
  const url = await pgServer.createDatabase();
  const env = adminEnv({ BUCKETCAST_DATABASE_URL: url, BUCKETCAST_SECRET_KEY: SECRET_KEY });
  let a: TestServer | undefined;
  let b: TestServer | undefined;
  try {
    [a, b] = await Promise.all([startServer({ env }), startServer({ env })]);
    const [apiA, apiB] = await Promise.all([login(a), login(b)]);
    /** Milliseconds from a change answered on B until A shows it (polled every 20 ms). */
    const seenOnA = async (change: () => Promise<{ status: number }>, shows: () => Promise<boolean>, label: string) => {
      const r = await change();
      assert.ok(r.status < 300, `${label}: ${r.status}`);
      const t0 = Date.now();
      await until(shows, 5_000, `${label} on A`, 20);
      return Date.now() - t0;
    };
    const patched = await seenOnA(
      () => apiB.patch('/api/v1/applications/live', { hlsTime: 6, previews: { periodSeconds: 7 } }),
      async () => (await apiA.get('/api/v1/applications/live')).json.settings?.hlsTime === 6,
      'patch',
    );
    const onA = (await apiA.get('/api/v1/applications/live')).json;
    assert.equal(onA.settings.previews.periodSeconds, 7);
    assert.equal(onA.source, 'api', 'A knows the API owns the app now');
    const created = await seenOnA(
      () => apiB.post('/api/v1/applications', { name: 'news', s3RecordingEnabled: false }),
      async () => (await apiA.get('/api/v1/applications/news')).status === 200,
      'create',
    );
    const deleted = await seenOnA(
      () => apiB.delete('/api/v1/applications/news'),
      async () => (await apiA.get('/api/v1/applications/news')).status === 404,
      'delete',
    );
    t.diagnostic(`reached A after ${patched} ms (patch), ${created} ms (create), ${deleted} ms (delete)`);
    for (const [what, ms] of [['patch', patched], ['create', created], ['delete', deleted]] as const) assert.ok(ms < 1000, `${what} reached A in ${ms} ms`);
    assert.ok(a.logs.some((l) => l.msg === 'application changed on another node' && l.app === 'live'));
  } finally {
    await Promise.all([a?.stop(), b?.stop()]);
    a?.cleanup();
    b?.cleanup();
  }
});

test('PostgreSQL restarted while a node records: the recording is complete and cataloged once it is back', async () => {
  const url = await pgServer.createDatabase();
  const db = new pg.Client({ connectionString: url });
  let a: TestServer | undefined;
  try {
    a = await startServer({ events: true, env: { BUCKETCAST_DATABASE_URL: url, BUCKETCAST_SECRET_KEY: SECRET_KEY } });
    const src = await fixture({ seconds: 8, width: 320, height: 240, videoKbps: 300 });
    const publisher = push(a.rtmpUrl('live', 'outage'), src);
    const started = await a.events.waitFor('recording.started', (e) => !e.node && e.streamId === 'outage', 20_000, 'recording started');
    await pgServer.stopServer();
    const pushed = await publisher.done;
    assert.equal(pushed.code, 0, `the live publish is not disturbed by the outage: ${pushed.stderr}`);
    await a.waitForLog((l) => String(l.msg).startsWith('recording kept, not finalized yet') && l.name === started.name, 30_000, 'the announcement waits');
    await pgServer.startServer();
    await db.connect();
    const row = await until(
      async () => (await db.query<{ duration_seconds: number; n: number }>(
        `SELECT r.duration_seconds, (SELECT COUNT(*) FROM recording_files f WHERE f.recording_id = r.id) AS n FROM recordings r WHERE r.name = $1`,
        [started.name],
      )).rows[0],
      90_000,
      'the recording in the catalog',
      500,
    );
    assert.ok(Math.abs(row.duration_seconds - 8) < 1, `complete: ${row.duration_seconds} s`);
    assert.ok(Number(row.n) >= 3, 'with its files (mp4, playlist, segments, previews)');
    assert.ok(existsSync(path.join(a.dataDir, 'live', 'streams', `${started.name}.mp4`)));
  } finally {
    // The server must be up for the next tests whatever happened.
    await pgServer.startServer().catch(() => undefined);
    await db.end().catch(() => undefined);
    await a?.stop();
    a?.cleanup();
  }
});
