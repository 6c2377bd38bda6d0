/**
 * Live events: the `/api/v1/events` WebSocket pushes stream
 * started/ended, recording started/completed, upload progress/completed and
 * recording uploaded for a real push with uploads to a real S3 server, as
 * `{type, data, at}`; it takes the session cookie or a bearer token, refuses
 * unauthenticated upgrades (401) and foreign origins (403), filters by app,
 * and closes with 1001 on shutdown.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startServer, until, type TestServer } from '../helpers/server.js';
import { startS3Target, credentialEnv, type S3TestTarget } from '../helpers/s3.js';
import { fixture } from '../helpers/fixtures.js';
import { push } from '../helpers/media.js';
import { ApiClient, adminEnv, login } from '../helpers/api.js';

interface Message {
  type: string;
  data: any;
  at: string;
}

let s3: S3TestTarget;
let server: TestServer;
let api: ApiClient;

before(async () => {
  s3 = await startS3Target();
  await s3.createBucket('events');
  server = await startServer({
    env: adminEnv(credentialEnv(s3)),
    config: { applications: [{ name: 'live', s3: { bucket: 'events', endpoint: s3.endpoint, forcePathStyle: true, partSizeMiB: 5 } }, { name: 'other', s3RecordingEnabled: false }] },
  });
  api = await login(server);
});
after(async () => {
  await server.stop();
  server.cleanup();
  await s3.cleanup();
});

/** Opens the channel; resolves once `hello` came, or rejects with the HTTP status of a refusal. */
function connect(headers: Record<string, string>, query = ''): Promise<{ ws: WebSocket; messages: Message[]; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.httpPort}/api/v1/events${query}`, { headers });
    const messages: Message[] = [];
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    ws.on('message', (m) => {
      const msg = JSON.parse(String(m)) as Message;
      messages.push(msg);
      if (msg.type === 'hello') resolve({ ws, messages, closed });
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => reject(Object.assign(new Error(`refused ${res.statusCode}`), { status: res.statusCode, body })));
    });
    ws.on('error', (err) => reject(err));
  });
}

async function refusedStatus(headers: Record<string, string>): Promise<{ status: number; body: string }> {
  try {
    const c = await connect(headers);
    c.ws.close();
    return { status: 101, body: '' };
  } catch (err) {
    return err as { status: number; body: string };
  }
}

test('unauthenticated, bad-token and foreign-origin upgrades are refused', async () => {
  const none = await refusedStatus({});
  assert.equal(none.status, 401);
  assert.equal(JSON.parse(none.body).error.code, 'unauthenticated');
  assert.equal((await refusedStatus({ authorization: 'Bearer bct_nope' })).status, 401);
  assert.equal((await refusedStatus({ cookie: 'bucketcast_session=forged' })).status, 401);
  const foreign = await refusedStatus({ cookie: api.auth.cookie!, origin: 'https://evil.example' });
  assert.equal(foreign.status, 403);
  assert.equal((await refusedStatus({ cookie: api.auth.cookie!, 'sec-fetch-site': 'cross-site' })).status, 403);
  const token = (await api.post('/api/v1/auth/tokens', { name: 'ws' })).json.token;
  const byToken = await connect({ authorization: `Bearer ${token}` });
  assert.equal(byToken.messages[0].data.user.username, 'admin');
  byToken.ws.close();
});

test('a real push: stream, recording and upload events arrive in order without a reload; ?app= filters', async () => {
  const panel = await connect({ cookie: api.auth.cookie!, origin: server.httpUrl });
  const filtered = await connect({ cookie: api.auth.cookie! }, '?app=other');
  assert.deepEqual(panel.messages[0].data, { user: { username: 'admin' }, app: null });
  const p = push(server.rtmpUrl('live', 'cam1'), await fixture({ seconds: 4 }));
  assert.equal((await p.done).code, 0);
  await until(() => panel.messages.some((m) => m.type === 'recording.uploaded'), 60_000, 'recording.uploaded', 100);
  const types = panel.messages.map((m) => m.type);
  const first = (t: string) => types.indexOf(t);
  for (const t of ['stream.started', 'recording.started', 'stream.ended', 'recording.completed', 'upload.progress', 'upload.completed', 'recording.uploaded']) {
    assert.ok(first(t) > 0, `${t} arrived: ${types.join(' ')}`);
  }
  assert.ok(first('stream.started') < first('stream.ended'));
  assert.ok(first('recording.started') < first('recording.completed'));
  assert.ok(first('recording.completed') < first('upload.completed'));
  assert.equal(types.lastIndexOf('recording.uploaded'), types.length - 1, 'recording.uploaded comes last');
  for (const m of panel.messages) {
    assert.ok(!Number.isNaN(Date.parse(m.at)), 'every message has a time');
    if (m.type !== 'hello') assert.equal(m.data.app, 'live');
  }
  const completed = panel.messages.find((m) => m.type === 'recording.completed')!.data;
  assert.equal(completed.streamId, 'cam1');
  assert.ok(completed.files.length >= 4 && completed.files.every((f: Record<string, unknown>) => !('path' in f)), 'no local paths');
  const uploaded = panel.messages.find((m) => m.type === 'recording.uploaded')!.data;
  assert.equal(uploaded.recordingId, completed.recordingId);
  const progress = panel.messages.filter((m) => m.type === 'upload.progress');
  assert.ok(progress.some((m) => m.data.loaded === m.data.total), 'the last progress of a file is sent');
  assert.equal((await api.get(`/api/v1/recordings/${completed.recordingId}`)).json.uploadState, 'uploaded', 'the API agrees');
  assert.ok(!filtered.messages.some((m) => m.type !== 'hello'), 'the ?app=other client heard nothing of live');
  filtered.ws.close();
  panel.ws.close();
});

test('shutdown closes the channel with 1001', async () => {
  const c = await connect({ cookie: api.auth.cookie! });
  const stopping = server.stop();
  assert.equal(await c.closed, 1001);
  await stopping;
});
