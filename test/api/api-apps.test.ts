/**
 * Applications API: create, read, replace, patch and delete,
 * validated by the config schema (422 naming the field, nothing changed);
 * webhook secrets never returned and kept by URL; API changes saved and
 * overriding the config file after a restart (deletions remembered); a change
 * applies to the next stream without a restart.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, until, type TestServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push } from '../helpers/media.js';
import { ApiClient, adminEnv, allOutput, login } from '../helpers/api.js';

const config = {
  applications: [
    { name: 'live', s3RecordingEnabled: false },
    { name: 'old', s3RecordingEnabled: false },
  ],
};
const HOOK_SECRET = 'whsec-never-shown-1234567890';
let server: TestServer;
let api: ApiClient;

before(async () => {
  server = await startServer({ events: true, env: adminEnv(), config });
  api = await login(server);
});
after(async () => {
  await server.stop();
  server.cleanup();
});

test('list and read: config-file apps with every default filled in', async () => {
  const list = await api.get('/api/v1/applications');
  assert.equal(list.status, 200);
  assert.deepEqual(list.json.applications.map((a: { name: string }) => a.name), ['live', 'old']);
  const live = await api.get('/api/v1/applications/live');
  assert.equal(live.json.source, 'config');
  assert.equal(live.json.liveStreams, 0);
  assert.equal(live.json.settings.hlsTime, 2);
  assert.equal(live.json.settings.publishSecurity.mode, 'none');
  assert.deepEqual(live.json.settings.webhooks, []);
  assert.equal(live.json.publish.rtmp.server, `rtmp://127.0.0.1:${server.rtmpPort}/live`);
  assert.equal((await api.get('/api/v1/applications/nope')).status, 404);
});

test('create: 201 with defaults; a taken or reserved name, bad fields and unknown keys are refused naming the field, and nothing is created', async () => {
  const made = await api.post('/api/v1/applications', { name: 'news', hlsTime: 4, previews: { format: 'png' }, s3RecordingEnabled: false });
  assert.equal(made.status, 201);
  assert.equal(made.headers.get('location'), '/api/v1/applications/news');
  assert.equal(made.json.source, 'api');
  assert.equal(made.json.settings.hlsTime, 4);
  assert.equal(made.json.settings.previews.height, 480, 'defaults filled in');
  assert.equal((await api.post('/api/v1/applications', { name: 'news' })).status, 409);
  const cases: Array<[unknown, RegExp]> = [
    [{ name: 'api' }, /^name: is reserved/],
    [{ name: 'bad name!' }, /^name: must be letters/],
    [{ name: 'x1', hlsTime: 999, previews: { format: 'gif' } }, /hlsTime: .*60.*previews\.format/],
    [{ name: 'x2', bogus: true }, /^bogus: unknown key$/],
    [{ name: 'x3', s3: { bucket: 'Bücket' } }, /s3\.bucket: must be 7-bit ASCII/],
    [{ name: 'x4', httpForwardingMode: 'redirect' }, /httpForwardingBaseURL: redirect mode needs/],
    [{ name: 'x5', webhooks: [{ url: 'ftp://x' }] }, /webhooks\[0\]\.url: must start with http.*webhooks\[0\]\.secret: required/],
    [{ name: 'x6', publishSecurity: { mode: 'passwords' } }, /publishSecurity\.mode/],
    [{ hlsTime: 3 }, /^name: /],
  ];
  for (const [body, message] of cases) {
    const res = await api.post('/api/v1/applications', body);
    assert.equal(res.status, 422, JSON.stringify(body));
    assert.equal(res.json.error.code, 'validation_failed');
    assert.match(res.json.error.message, message);
    assert.ok(res.json.error.details.length >= 1);
  }
  const notJson = await api.request('POST', '/api/v1/applications', { raw: { contentType: 'text/plain', data: 'name=x' } });
  assert.equal(notJson.status, 415);
  const broken = await api.request('POST', '/api/v1/applications', { raw: { contentType: 'application/json', data: '{"name": "x7",' } });
  assert.equal(broken.status, 400);
  const arrayBody = await api.post('/api/v1/applications', [{ name: 'x8' }]);
  assert.equal(arrayBody.status, 422);
  const names = (await api.get('/api/v1/applications')).json.applications.map((a: { name: string }) => a.name);
  assert.deepEqual(names, ['live', 'old', 'news'], 'none of the refused ones exists');
});

test('patch merges (null resets to the default), put replaces, the name cannot change, bad input changes nothing', async () => {
  const before = (await api.get('/api/v1/applications/news')).json.settings;
  const bad = await api.patch('/api/v1/applications/news', { hlsTime: 0.5, previews: { periodSeconds: 2 } });
  assert.equal(bad.status, 422);
  assert.match(bad.json.error.message, /^hlsTime: /);
  assert.deepEqual((await api.get('/api/v1/applications/news')).json.settings, before, 'a refused patch changes nothing, not even its valid part');
  const patched = await api.patch('/api/v1/applications/news', { previews: { periodSeconds: 2 }, hlsTime: null });
  assert.equal(patched.status, 200);
  assert.equal(patched.json.settings.previews.periodSeconds, 2);
  assert.equal(patched.json.settings.previews.format, 'png', 'siblings kept');
  assert.equal(patched.json.settings.hlsTime, 2, 'null restores the default');
  const rename = await api.patch('/api/v1/applications/news', { name: 'other' });
  assert.equal(rename.status, 422);
  assert.match(rename.json.error.message, /^name: cannot be changed/);
  const put = await api.put('/api/v1/applications/news', { mp4MuxingEnabled: false, s3RecordingEnabled: false });
  assert.equal(put.status, 200);
  assert.equal(put.json.settings.mp4MuxingEnabled, false);
  assert.equal(put.json.settings.previews.format, 'jpg', 'PUT replaces: omitted keys take their defaults');
  const badPut = await api.put('/api/v1/applications/news', { mp4MuxingEnabled: 'yes' });
  assert.equal(badPut.status, 422);
  assert.equal((await api.get('/api/v1/applications/news')).json.settings.mp4MuxingEnabled, false);
  assert.equal((await api.put('/api/v1/applications/ghost', {})).status, 404);
  assert.equal((await api.patch('/api/v1/applications/ghost', {})).status, 404);
});

test('webhook secrets are never returned; a webhook sent back without one keeps it; a new one needs one', async () => {
  const hook = { url: 'https://hooks.example.com/bucketcast?team=1', events: ['recordingUploaded'], secret: HOOK_SECRET };
  const set = await api.patch('/api/v1/applications/news', { webhooks: [hook] });
  assert.equal(set.status, 200);
  assert.deepEqual(set.json.settings.webhooks, [{ url: hook.url, events: ['recordingUploaded'], enabled: true, hasSecret: true }]);
  // The panel sends what it got back (with hasSecret), plus a change.
  const roundTrip = await api.patch('/api/v1/applications/news', { webhooks: [{ ...set.json.settings.webhooks[0], events: ['recordingUploaded', 'uploadFailed'] }] });
  assert.equal(roundTrip.status, 200);
  assert.deepEqual(roundTrip.json.settings.webhooks[0].events, ['recordingUploaded', 'uploadFailed']);
  const whole = (await api.get('/api/v1/applications/news')).json.settings;
  assert.equal((await api.put('/api/v1/applications/news', whole)).status, 200, 'a GET answer can be PUT back as is');
  const newHook = await api.patch('/api/v1/applications/news', { webhooks: [whole.webhooks[0], { url: 'https://other.example.com/h' }] });
  assert.equal(newHook.status, 422);
  assert.match(newHook.json.error.message, /webhooks\[1\]\.secret: required/);
  const dup = await api.patch('/api/v1/applications/news', { webhooks: [hook, hook] });
  assert.equal(dup.status, 422);
  assert.match(dup.json.error.message, /webhooks\[1\]\.url: is listed twice/);
  assert.ok(!ApiClient.seen.some((t) => t.includes(HOOK_SECRET)), 'no answer carried the secret');
  assert.ok(!allOutput(server).includes(HOOK_SECRET), 'no log line did');
});

test('delete: 204, then 404; an unknown app is 404', async () => {
  const temp = await api.post('/api/v1/applications', { name: 'temp', s3RecordingEnabled: false });
  assert.equal(temp.status, 201);
  assert.equal((await api.delete('/api/v1/applications/temp')).status, 204);
  assert.equal((await api.get('/api/v1/applications/temp')).status, 404);
  assert.equal((await api.delete('/api/v1/applications/temp')).status, 404);
  assert.equal((await api.delete('/api/v1/applications/old')).status, 204, 'a config-file app can be deleted too');
});

test('a settings change applies to the next stream without a restart; an app with a live stream cannot be deleted', async () => {
  const src = await fixture({ seconds: 4 });
  const recordOnce = async (streamId: string) => {
    const p = push(server.rtmpUrl('live', streamId), src);
    const started = await server.events.waitFor('recording.started', (e) => e.streamId === streamId, 20_000, `recording of ${streamId}`);
    const busy = await api.delete('/api/v1/applications/live');
    assert.equal(busy.status, 409);
    assert.equal(busy.json.error.code, 'app_busy');
    assert.equal((await p.done).code, 0);
    await server.events.waitFor('recording.completed', (e) => e.name === started.name, 30_000, 'recording completed');
    const id = String(started.recordingId);
    return until(async () => {
      const r = await api.get(`/api/v1/recordings/${id}`);
      return r.status === 200 ? (r.json.files as Array<{ kind: string }>).map((f) => f.kind) : undefined;
    }, 10_000, 'recording in the catalog');
  };
  const withHls = await recordOnce('before');
  assert.ok(withHls.includes('hls-playlist') && withHls.includes('poster'));
  assert.equal((await api.patch('/api/v1/applications/live', { hlsMuxingEnabled: false, previews: { enabled: false } })).status, 200);
  const without = await recordOnce('after');
  assert.ok(without.includes('mp4'));
  assert.ok(!without.includes('hls-playlist') && !without.includes('hls-segment'), `no HLS now: ${without.join(',')}`);
  assert.ok(!without.includes('poster') && !without.includes('preview'), 'no previews now');
});

test('after a restart, API changes override the config file and deleted apps stay deleted', async () => {
  await server.stop();
  server = await startServer({ env: adminEnv(), config, dataDir: server.dataDir });
  api = await login(server);
  const names = (await api.get('/api/v1/applications')).json.applications.map((a: { name: string; source: string }) => `${a.name}:${a.source}`);
  assert.deepEqual(names, ['live:api', 'news:api'], '"old" is still in the file but was deleted');
  const live = (await api.get('/api/v1/applications/live')).json.settings;
  assert.equal(live.hlsMuxingEnabled, false, 'the API change outlived the restart');
  const news = (await api.get('/api/v1/applications/news')).json.settings;
  assert.equal(news.webhooks[0].hasSecret, true);
  assert.ok(server.logs.some((l) => /override the config file/.test(String(l.msg)) && (l.applications as string[]).includes('live')));
  assert.ok(server.logs.some((l) => /deleted through the API are ignored/.test(String(l.msg)) && (l.applications as string[]).includes('old')));
  // The webhook secret is kept, encrypted: it is not in the database files in clear.
  const { readFileSync, readdirSync } = await import('node:fs');
  const bytes = Buffer.concat(readdirSync(server.dataDir).filter((f) => f.startsWith('bucketcast.db')).map((f) => readFileSync(`${server.dataDir}/${f}`)));
  assert.ok(!bytes.includes(Buffer.from(HOOK_SECRET)), 'the webhook secret is encrypted at rest');
  const recreated = await api.post('/api/v1/applications', { name: 'old', s3RecordingEnabled: false });
  assert.equal(recreated.status, 201, 'a deleted name can be created again');
});
