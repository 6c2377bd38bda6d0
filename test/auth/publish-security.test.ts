/**
 * Publish security over RTMP with the real ffmpeg publisher: stream
 * keys (`cam1?key=…`) and signed tokens (`cam1?token=…`, or after the app);
 * missing, wrong, revoked, expired, too long-lived and forged credentials are
 * refused with a logged reason, the right ones are recorded; a token minted
 * by an operator's own code (the README's recipe) works; no key, token or
 * secret reaches a log line. WHIP shares the authorizer (its Bearer token is
 * the same `PublishRequest.token`); its test comes with the WHIP merge.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startServer, until, type TestServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push } from '../helpers/media.js';
import { ApiClient, adminEnv, allOutput, login } from '../helpers/api.js';

let server: TestServer;
let api: ApiClient;
let src: string;
const credentials: string[] = [];

before(async () => {
  server = await startServer({
    env: adminEnv(),
    config: {
      applications: [
        { name: 'keys', s3RecordingEnabled: false, publishSecurity: { mode: 'streamKeys' } },
        { name: 'signed', s3RecordingEnabled: false, publishSecurity: { mode: 'signedTokens', maxTokenLifetimeSeconds: 3600 } },
        { name: 'open', s3RecordingEnabled: false },
      ],
    },
  });
  api = await login(server);
  src = await fixture({ seconds: 4 });
});
after(async () => {
  await server.stop();
  server.cleanup();
});

const base = () => `rtmp://127.0.0.1:${server.rtmpPort}`;

/** Pushes; resolves with the refusal log line, or null when the publish was accepted and recorded. */
async function attempt(url: string, streamId: string, app: string): Promise<Record<string, unknown> | null> {
  const before = server.logs.length;
  const r = await push(url, src).done;
  if (r.code !== 0) {
    // The publisher is told only "unauthorized"; ffmpeg prints the status description it got.
    const told = [...r.stderr.matchAll(/Server error: (.*)/g)].map((m) => m[1].trim());
    assert.ok(told.length > 0 && told.every((t) => t === 'unauthorized'), `the RTMP answer says no more than "unauthorized": ${told.join(' | ')}`);
    // Refused: ffmpeg fails. The log line travels apart from the RTMP answer, so wait for it.
    return until(() => server.logs.slice(before).find((l) => l.msg === 'publish refused' && l.streamId === streamId && l.app === app), 10_000, `refusal of ${app}/${streamId}`);
  }
  await until(() => server.logs.slice(before).find((l) => l.msg === 'recording completed' && l.streamId === streamId && l.app === app), 20_000, `recording of ${app}/${streamId}`);
  assert.ok(!server.logs.slice(before).some((l) => l.msg === 'publish refused' && l.streamId === streamId && l.app === app), 'accepted, not refused');
  return null;
}

function refusedWith(line: Record<string, unknown> | null, reason: RegExp): void {
  assert.ok(line, 'refused');
  assert.equal(line.code, 'unauthorized');
  assert.match(String(line.reason), reason);
}

test('stream keys: issued once through the API, missing/wrong/other-stream keys refused, the right one recorded, a revoked one refused', async () => {
  const issued = await api.post('/api/v1/applications/keys/stream-keys', { streamId: 'cam1' });
  assert.equal(issued.status, 201);
  const key = issued.json.key as string;
  credentials.push(key);
  assert.match(key, /^sk_[\w-]{32}$/);
  assert.equal(issued.json.publish.rtmp.server, `${base()}/keys`);
  assert.equal(issued.json.publish.rtmp.streamKey, `cam1?key=${key}`, 'what goes in OBS');
  assert.equal(issued.json.publish.whip.bearerToken, key);
  const other = await api.post('/api/v1/applications/keys/stream-keys', { streamId: 'cam2' });
  credentials.push(other.json.key);
  const listed = await api.get('/api/v1/applications/keys/stream-keys');
  assert.deepEqual(listed.json.streamKeys.map((k: { streamId: string }) => k.streamId), ['cam1', 'cam2']);
  assert.ok(!listed.text.includes(key), 'listings never carry a key');
  assert.equal((await api.post('/api/v1/applications/keys/stream-keys', { streamId: 'bad id!' })).status, 422);
  assert.equal((await api.post('/api/v1/applications/ghost/stream-keys', { streamId: 'cam1' })).status, 404);

  // One at a time: a refusal is told apart from another by its stream id and order.
  refusedWith(await attempt(`${base()}/keys/cam1`, 'cam1', 'keys'), /a stream key is required: publish to "cam1\?key=<stream key>"/);
  refusedWith(await attempt(`${base()}/keys/cam1?key=sk_${'x'.repeat(32)}`, 'cam1', 'keys'), /^wrong stream key$/);
  refusedWith(await attempt(`${base()}/keys/cam1?key=${other.json.key}`, 'cam1', 'keys'), /^wrong stream key$/);
  refusedWith(await attempt(`${base()}/keys/cam3?key=${key}`, 'cam3', 'keys'), /no stream key is issued for stream id "cam3"/);
  // The right key (`?token=` carries it just as well).
  assert.equal(await attempt(`${base()}/keys/cam1?token=${key}`, 'cam1', 'keys'), null, 'the right key is recorded');
  assert.ok((await api.get('/api/v1/applications/keys/stream-keys')).json.streamKeys[0].lastUsedAt);

  assert.equal((await api.delete('/api/v1/applications/keys/stream-keys/cam1')).status, 204);
  assert.equal((await api.delete('/api/v1/applications/keys/stream-keys/cam1')).status, 404);
  refusedWith(await attempt(`${base()}/keys/cam1?key=${key}`, 'cam1', 'keys'), /no stream key is issued/);
  const reissued = await api.post('/api/v1/applications/keys/stream-keys', { streamId: 'cam2' });
  credentials.push(reissued.json.key);
  assert.equal(reissued.json.replaced, true);
  refusedWith(await attempt(`${base()}/keys/cam2?key=${other.json.key}`, 'cam2', 'keys'), /wrong stream key/);
});

test('signed tokens: minted by the API or by your own code; missing, malformed, forged, expired and too long-lived tokens refused', async () => {
  const info = await api.get('/api/v1/applications/signed/signing-secret');
  assert.deepEqual(info.json, { exists: false, createdAt: null });
  const refusedNoSecret = await attempt(`${base()}/signed/cam1?token=${Math.floor(Date.now() / 1000) + 60}.${'0'.repeat(64)}`, 'cam1', 'signed');
  refusedWith(refusedNoSecret, /no signing secret yet/);
  const secret = await api.post('/api/v1/applications/signed/signing-secret');
  assert.equal(secret.status, 201);
  credentials.push(secret.json.secret);
  assert.match(secret.json.secret, /^[0-9a-f]{64}$/);
  assert.equal((await api.get('/api/v1/applications/signed/signing-secret')).json.exists, true);
  assert.ok(!(await api.get('/api/v1/applications/signed/signing-secret')).text.includes(secret.json.secret));
  const minted = await api.post('/api/v1/applications/signed/publish-tokens', { streamId: 'cam1', expiresInSeconds: 600 });
  assert.equal(minted.status, 201);
  credentials.push(minted.json.token);
  assert.match(minted.json.token, /^\d{10}\.[0-9a-f]{64}$/);
  assert.equal(minted.json.publish.rtmp.streamKey, `cam1?token=${minted.json.token}`);
  const tooLong = await api.post('/api/v1/applications/signed/publish-tokens', { streamId: 'cam1', expiresInSeconds: 7200 });
  assert.equal(tooLong.status, 422);
  assert.match(tooLong.json.error.message, /expiresInSeconds: must be a whole number of seconds from 1 to 3600/);
  assert.equal((await api.post('/api/v1/applications/signed/publish-tokens', {})).status, 422);

  // The README's recipe, as an operator's backend would run it.
  const sign = (streamId: string, exp: number, key = secret.json.secret as string) => `${exp}.${createHmac('sha256', key).update(`signed/${streamId}/${exp}`).digest('hex')}`;
  const now = Math.floor(Date.now() / 1000);
  const own = sign('cam2', now + 300);
  credentials.push(own);
  refusedWith(await attempt(`${base()}/signed/cam1`, 'cam1', 'signed'), /a signed token is required/);
  refusedWith(await attempt(`${base()}/signed/cam1?token=abc`, 'cam1', 'signed'), /malformed token/);
  refusedWith(await attempt(`${base()}/signed/cam1?token=${sign('cam1', now + 300, 'not-the-secret')}`, 'cam1', 'signed'), /invalid token signature/);
  refusedWith(await attempt(`${base()}/signed/cam3?token=${minted.json.token}`, 'cam3', 'signed'), /invalid token signature/);
  refusedWith(await attempt(`${base()}/signed/cam1?token=${sign('cam1', now - 10)}`, 'cam1', 'signed'), /token expired at \d{4}-/);
  refusedWith(await attempt(`${base()}/signed/cam1?token=${sign('cam1', now + 86_400)}`, 'cam1', 'signed'), /more than 3600 s ahead/);
  const [apiToken, ownToken, inApp] = await Promise.all([
    attempt(`${base()}/signed/cam1?token=${minted.json.token}`, 'cam1', 'signed'),
    attempt(`${base()}/signed/cam2?token=${own}`, 'cam2', 'signed'),
    // The credential may also follow the app (OBS Server "rtmp://host/signed?token=…", Stream Key "cam4").
    attempt(`${base()}/signed?token=${sign('cam4', now + 300)}/cam4`, 'cam4', 'signed'),
  ]);
  assert.equal(apiToken, null, 'an API-minted token is recorded');
  assert.equal(ownToken, null, 'a token minted with the documented recipe is recorded');
  assert.equal(inApp, null, 'a token after the app is accepted too');

  const rotated = await api.post('/api/v1/applications/signed/signing-secret', { secret: 'an-operator-chosen-secret-of-32-chars!' });
  assert.equal(rotated.status, 201);
  credentials.push(rotated.json.secret);
  assert.equal((await api.post('/api/v1/applications/signed/signing-secret', { secret: 'short' })).status, 422);
  refusedWith(await attempt(`${base()}/signed/cam2?token=${sign('cam2', now + 300)}`, 'cam2', 'signed'), /invalid token signature/);
});

test('mode none publishes without a credential; a mode change applies to the next publish', async () => {
  assert.equal(await attempt(`${base()}/open/cam1`, 'cam1', 'open'), null);
  assert.equal((await api.patch('/api/v1/applications/open', { publishSecurity: { mode: 'streamKeys' } })).status, 200);
  refusedWith(await attempt(`${base()}/open/cam1`, 'cam1', 'open'), /a stream key is required/);
});

test('refusals are logged with their reason, never with a key, token or secret', () => {
  const refusals = server.logs.filter((l) => l.msg === 'publish refused');
  assert.ok(refusals.length >= 12);
  assert.ok(refusals.every((l) => typeof l.reason === 'string' && l.remoteAddress));
  const logs = allOutput(server);
  for (const c of credentials) {
    assert.ok(!logs.includes(c), 'a credential reached the logs');
    // Not even part of it (e.g. a query string in a stream name).
    assert.ok(!logs.includes(c.slice(-24)), 'part of a credential reached the logs');
  }
});
