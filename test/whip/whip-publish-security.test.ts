/**
 * Publish security over WHIP: the same authorizer as RTMP, with the
 * credential as WHIP's Bearer token. Missing, wrong and other streams' keys
 * are refused (401, logged with the reason); a browser (headless Chromium on
 * publish.html) with the right stream key is recorded; a signed token minted
 * through the API is accepted. No credential reaches a log line.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, until, type TestServer } from '../helpers/server.js';
import { browserLikeOffer, openPublisher, startPublishing, stopPublishing } from '../helpers/whip.js';
import { ApiClient, adminEnv, allOutput, login } from '../helpers/api.js';

let server: TestServer;
let api: ApiClient;
const credentials: string[] = [];

before(async () => {
  server = await startServer({
    events: true,
    env: adminEnv(),
    config: {
      whip: { connectTimeoutSeconds: 3 },
      applications: [
        { name: 'keys', s3RecordingEnabled: false, publishSecurity: { mode: 'streamKeys' } },
        { name: 'signed', s3RecordingEnabled: false, publishSecurity: { mode: 'signedTokens' } },
      ],
    },
  });
  api = await login(server);
});
after(async () => {
  await server.stop();
  server.cleanup();
});

function offer(app: string, streamId: string, bearer?: string) {
  const headers: Record<string, string> = { 'Content-Type': 'application/sdp' };
  if (bearer !== undefined) headers.Authorization = `Bearer ${bearer}`;
  return fetch(`${server.httpUrl}/${app}/whip/${streamId}`, { method: 'POST', headers, body: browserLikeOffer() });
}

test('WHIP with stream keys: missing, wrong and other-stream keys refused with 401; the right key from a browser is recorded', async () => {
  const key = (await api.post('/api/v1/applications/keys/stream-keys', { streamId: 'cam1' })).json;
  const other = (await api.post('/api/v1/applications/keys/stream-keys', { streamId: 'cam2' })).json;
  credentials.push(key.key, other.key);
  assert.equal(key.publish.whip.url, `${server.httpUrl}/keys/whip/cam1`);
  assert.equal(key.publish.whip.bearerToken, key.key);
  const cases: Array<[string | undefined, RegExp]> = [
    [undefined, /a stream key is required/],
    [`sk_${'x'.repeat(32)}`, /^wrong stream key$/],
    [other.key, /^wrong stream key$/],
  ];
  for (const [i, [bearer, reason]] of cases.entries()) {
    const before = server.logs.length;
    const res = await offer('keys', 'cam1', bearer);
    assert.equal(res.status, 401);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'unauthorized');
    assert.equal(body.error.message, 'unauthorized', 'the publisher learns nothing more');
    // The log line and the answer travel separately: wait for the line.
    const line = await until(() => server.logs.slice(before).find((l) => l.msg === 'publish refused' && l.protocol === 'whip'), 10_000, 'the refusal is logged');
    assert.match(String(line.reason), reason);
    // The events channel (admins) says why too, without the credential.
    const refusals = await until(() => { const all = server.events.all('stream.refused', (e) => e.protocol === 'whip' && e.app === 'keys'); return all.length > i ? all : undefined; }, 10_000, 'stream.refused');
    assert.equal(refusals.length, i + 1);
    assert.equal(refusals[i].code, 'unauthorized');
    assert.equal(refusals[i].streamId, 'cam1');
    assert.match(refusals[i].reason, reason);
    if (bearer) assert.ok(!JSON.stringify(refusals[i]).includes(bearer), 'the credential is not in the event');
  }

  const publisher = await openPublisher(`${server.httpUrl}/publish.html?app=keys&id=cam1`);
  try {
    await publisher.page.fill('#token', key.key);
    await startPublishing(publisher.page);
    const started = await server.events.waitFor('recording.started', (e) => e.app === 'keys' && e.streamId === 'cam1' && e.protocol === 'whip', 20_000, 'whip recording started');
    await new Promise((r) => setTimeout(r, 3000));
    await stopPublishing(publisher.page);
    const done = await server.events.waitFor('recording.completed', (e) => e.recordingId === started.recordingId, 30_000, 'whip recording completed');
    assert.ok(Number(done.durationSeconds) > 1.5, `recorded ${done.durationSeconds} s`);
  } finally {
    await publisher.close();
  }
});

test('WHIP with signed tokens: a minted token is accepted, a forged one refused', async () => {
  const minted = (await api.post('/api/v1/applications/signed/publish-tokens', { streamId: 'cam1', expiresInSeconds: 120 })).json;
  credentials.push(minted.token);
  const forged = `${Math.floor(Date.now() / 1000) + 60}.${'ab'.repeat(32)}`;
  const refused = await offer('signed', 'cam1', forged);
  assert.equal(refused.status, 401);
  assert.equal(((await refused.json()) as { error: { message: string } }).error.message, 'unauthorized');
  const accepted = await offer('signed', 'cam1', minted.token);
  assert.equal(accepted.status, 201, await accepted.clone().text());
  await accepted.text();
  const location = accepted.headers.get('location')!;
  await server.events.waitFor('stream.started', (e) => e.app === 'signed' && e.protocol === 'whip', 10_000, 'whip publish accepted');
  // No ICE will follow from this test: end the session with the same credential.
  const ended = await fetch(`${server.httpUrl}${location}`, { method: 'DELETE', headers: { Authorization: `Bearer ${minted.token}` } });
  assert.equal(ended.status, 200);
});

test('no WHIP credential reaches a log line', () => {
  const logs = allOutput(server);
  for (const c of credentials) assert.ok(!logs.includes(c) && !logs.includes(c.slice(-24)));
});
