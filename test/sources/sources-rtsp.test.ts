/**
 * Sources: an RTSP camera stand-in (GStreamer's RTSP server: H.264 +
 * G.711 µ-law, basic auth) pulled as a source over TCP (added through the API,
 * its password stored sealed and never answered) and over UDP (from the config
 * file): recorded, uploaded, the stable URL plays (G.711 became AAC). The
 * camera killed and restarted 10 s later on the same port: the source shows
 * `failed` with its last error meanwhile, reconnects, and the stream's
 * recordings have a gap in wall-clock time, the server never crashed. A push
 * to a source's stream id is refused while the source is live. Bad inputs are
 * 4xx naming the field.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startServer, until, type TestServer } from '../helpers/server.js';
import { startS3Target, credentialEnv, type S3TestTarget } from '../helpers/s3.js';
import { fixture } from '../helpers/fixtures.js';
import { push, ffprobe, decodesCleanly } from '../helpers/media.js';
import { ApiClient, adminEnv, allOutput, login } from '../helpers/api.js';
import { download, sourceState, startRtspCamera, type RtspCamera } from '../helpers/sources.js';

const PASSWORD = 'Cam-Pa55word';
let server: TestServer;
let s3: S3TestTarget;
let api: ApiClient;
let camera: RtspCamera;

before(async () => {
  s3 = await startS3Target();
  await s3.createBucket('rec');
  camera = await startRtspCamera(0, `admin:${PASSWORD}`);
  server = await startServer({
    events: true,
    env: adminEnv(credentialEnv(s3)),
    config: {
      // Two sources from one camera host: a source is not a client, the per-address publisher cap does not apply.
      server: { limits: { publishersPerIp: 1 } },
      applications: [
        {
          name: 'live',
          s3: { bucket: 'rec', endpoint: s3.endpoint, forcePathStyle: true, storageMode: 'dual' },
          sources: [{ streamId: 'cam-udp', url: camera.url, rtspTransport: 'udp' }],
        },
      ],
    },
  });
  api = await login(server);
});
after(async () => {
  await server?.stop();
  server?.cleanup();
  await camera?.stop();
  await s3?.cleanup();
});

async function recordingsOf(streamId: string): Promise<any[]> {
  return (await api.get(`/api/v1/recordings?app=live&streamId=${streamId}`)).json.recordings;
}

test('an RTSP camera pulled over TCP: live in the registry, recorded, uploaded, the stable URL plays; the password never comes back', async () => {
  const created = await api.post('/api/v1/applications/live/sources', { streamId: 'cam1', url: camera.url });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.headers.get('location'), '/api/v1/applications/live/sources/cam1');
  assert.equal(created.json.url, `rtsp://admin:***@127.0.0.1:${camera.port}/cam`);
  assert.equal(created.json.origin, 'api');
  assert.equal(created.json.kind, 'rtsp');
  const live = await sourceState(api, 'live', 'cam1', 'live', 30_000);
  assert.equal(live.lastError, null);
  assert.ok(live.sessionId);

  const stream = await until(async () => {
    const s = (await api.get('/api/v1/streams/live/cam1')).json;
    return s?.recording ? s : undefined;
  }, 20_000, 'cam1 recording');
  assert.equal(stream.protocol, 'rtsp');
  assert.equal(stream.video.codec, 'h264');
  assert.equal(stream.audio.codec, 'pcm_mulaw', 'G.711 reaches the recorder as it came');
  assert.equal(stream.remoteAddress, `rtsp://127.0.0.1:${camera.port}`);

  // One publisher per stream id, whatever the protocol: an RTMP push to cam1 is refused.
  const p = push(server.rtmpUrl('live', 'cam1'), await fixture({ seconds: 3 }));
  await server.events.waitFor('stream.refused', (e) => e.streamId === 'cam1' && e.code === 'stream_busy', 15_000, 'rtmp push refused');
  await p.stop();

  // The config source over UDP is live too.
  const udp = await sourceState(api, 'live', 'cam-udp', 'live', 30_000);
  assert.equal(udp.origin, 'config');
  assert.equal(udp.rtspTransport, 'udp');
  assert.equal(udp.url, `rtsp://admin:***@127.0.0.1:${camera.port}/cam`);
  await server.events.waitFor('recording.started', (e) => e.streamId === 'cam-udp', 20_000, 'cam-udp recording');

  // A config source cannot be changed through the API.
  const patchConfig = await api.patch('/api/v1/applications/live/sources/cam-udp', { enabled: false });
  assert.equal(patchConfig.status, 409);
  assert.equal(patchConfig.json.error.code, 'source_in_config');

  // Stored sealed: the data dir's file has neither the password nor the URL.
  const stored = readFileSync(path.join(server.dataDir, 'sources.json'), 'utf8');
  assert.ok(!stored.includes(PASSWORD) && !stored.includes('rtsp://'), stored);
  assert.ok(!JSON.stringify((await api.get('/api/v1/applications/live/sources')).json).includes(PASSWORD));

  // A few seconds recorded before the camera goes away (next test).
  await new Promise((r) => setTimeout(r, 5000));
});

test('the camera killed and back 10 s later: the source fails with its error, reconnects, the recording has a gap, no crash', async () => {
  const port = camera.port;
  const killedAt = Date.now();
  await camera.stop();
  const failed = await sourceState(api, 'live', 'cam1', 'failed', 30_000);
  assert.ok(failed.lastError, 'a last error');
  assert.ok(!failed.lastError.includes(PASSWORD), failed.lastError);
  assert.ok(failed.nextAttemptAt);
  // The first recording is final and uploaded meanwhile.
  const first = await until(async () => (await recordingsOf('cam1')).find((r) => r.uploadState === 'uploaded'), 60_000, 'first cam1 recording uploaded');

  await new Promise((r) => setTimeout(r, Math.max(0, 10_000 - (Date.now() - killedAt))));
  camera = await startRtspCamera(port, `admin:${PASSWORD}`);
  const back = await sourceState(api, 'live', 'cam1', 'live', 45_000);
  assert.equal(back.lastError, null);
  const reconnectedMs = Date.now() - killedAt;
  console.log(`# reconnected ${(reconnectedMs / 1000).toFixed(1)} s after the kill (camera back after 10 s)`);
  await server.events.waitFor('recording.started', (e) => e.streamId === 'cam1' && String(e.recordingId) !== first.recordingId, 20_000, 'second cam1 recording');
  await new Promise((r) => setTimeout(r, 4000));

  // Removing the source ends its stream; its recording is finalized and uploaded like the first.
  assert.equal((await api.delete('/api/v1/applications/live/sources/cam1')).status, 204);
  assert.equal((await api.get('/api/v1/applications/live/sources/cam1')).status, 404);
  const both = await until(async () => {
    const list = await recordingsOf('cam1');
    return list.length === 2 && list.every((r) => r.uploadState === 'uploaded') ? list : undefined;
  }, 90_000, 'both cam1 recordings uploaded');
  const [second, firstAgain] = both; // newest first
  const gapSeconds = (Date.parse(second.startedAt) - Date.parse(firstAgain.endedAt)) / 1000;
  console.log(`# wall-clock gap between the two recordings: ${gapSeconds.toFixed(1)} s`);
  assert.ok(gapSeconds >= 9, `a gap of ~10 s, got ${gapSeconds}`);

  // The stable URL of the first plays: H.264 + AAC (G.711 transcoded), decodes cleanly.
  const r = (await api.get(`/api/v1/recordings/${firstAgain.recordingId}`)).json;
  assert.ok(r.files.every((f: { state: string }) => f.state === 'uploaded'));
  const file = await download(`${server.httpUrl}${r.urls.mp4}`);
  try {
    const probed = await ffprobe(file);
    assert.deepEqual(probed.streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
    assert.ok(probed.duration >= 3, `duration ${probed.duration}`);
    assert.ok(await decodesCleanly(file));
  } finally {
    rmSync(file, { force: true });
  }
  assert.ok(!allOutput(server).includes(PASSWORD), 'the password is in no log line');
  assert.equal(server.proc.exitCode, null, 'the server is running');
  assert.ok(!server.logs.some((l) => l.level === 'fatal' || l.msg === 'source loop failed'));
});

test('bad source inputs: 422 naming the field, 409 for a duplicate, 404 for an unknown app or source', async () => {
  const bad: Array<[unknown, string]> = [
    [{ streamId: 'x', url: 'ftp://h/cam' }, 'url'],
    [{ streamId: 'x', url: 'http://h/video.mp4' }, 'url'],
    [{ streamId: 'x', url: 'file:///etc/passwd' }, 'url'],
    [{ streamId: 'x', url: 'srt://:9000?mode=listener&passphrase=short' }, 'url'],
    [{ streamId: 'x', url: 'srt://:9000?mode=rendezvous' }, 'url'],
    [{ streamId: 'x', url: 'srt://example.com' }, 'url'],
    [{ streamId: '../x', url: 'rtsp://h/cam' }, 'streamId'],
    [{ streamId: 'x', url: 'rtsp://h/cam', rtspTransport: 'http' }, 'rtspTransport'],
    [{ streamId: 'x', url: 'rtsp://h/cam', extra: 1 }, ''],
    [{ url: 'rtsp://h/cam' }, 'streamId'],
    [[1, 2], ''],
  ];
  for (const [body, field] of bad) {
    const r = await api.post('/api/v1/applications/live/sources', body);
    assert.equal(r.status, 422, `${JSON.stringify(body)} → ${r.status} ${r.text}`);
    assert.equal(r.json.error.code, 'validation_failed');
    if (field) assert.ok(r.json.error.details.some((d: { path: string }) => d.path === field), `${JSON.stringify(body)}: ${r.text}`);
  }
  assert.equal((await api.post('/api/v1/applications/nope/sources', { streamId: 'x', url: 'rtsp://h/cam' })).status, 404);
  assert.equal((await api.post('/api/v1/applications/live/sources', { streamId: 'cam-udp', url: 'rtsp://h/cam' })).json.error.code, 'source_exists');
  assert.equal((await api.get('/api/v1/applications/live/sources/none')).status, 404);
  // Disabled: kept, not pulled.
  const off = await api.post('/api/v1/applications/live/sources', { streamId: 'off1', url: 'rtsp://127.0.0.1:1/cam', enabled: false });
  assert.equal(off.status, 201);
  assert.equal((await sourceState(api, 'live', 'off1', 'disabled', 5000)).enabled, false);
  // A camera nobody answers for: failed with the error and a next attempt.
  const on = await api.patch('/api/v1/applications/live/sources/off1', { enabled: true });
  assert.equal(on.status, 200, on.text);
  const failed = await sourceState(api, 'live', 'off1', 'failed', 20_000);
  assert.match(failed.lastError, /refused|failed|error/i);
  assert.equal((await api.delete('/api/v1/applications/live/sources/off1')).status, 204);
});
