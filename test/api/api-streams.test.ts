/**
 * Streams API with a real RTMP publisher: the live stream with its
 * protocol, codecs, resolution, bitrate, duration, address and recording;
 * stopping and restarting its recording while it stays live; kicking the
 * publisher; and 404/409 where the stream or recording state does not fit.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, until, type TestServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push, type Push } from '../helpers/media.js';
import { ApiClient, adminEnv, login } from '../helpers/api.js';

let server: TestServer;
let api: ApiClient;
let publisher: Push;

before(async () => {
  server = await startServer({ events: true, env: adminEnv(), config: { applications: [{ name: 'live', s3RecordingEnabled: false }, { name: 'other', s3RecordingEnabled: false }] } });
  api = await login(server);
  publisher = push(server.rtmpUrl('live', 'cam1'), await fixture({ seconds: 20 }));
  await server.events.waitFor('recording.started', (e) => e.streamId === 'cam1', 20_000, 'recording started');
});
after(async () => {
  await publisher.stop();
  await server.stop();
  server.cleanup();
});

test('a live stream: protocol, codecs, resolution, bitrate, duration, remote address, its recording and URLs', async () => {
  const s = await until(async () => {
    const list = await api.get('/api/v1/streams');
    const found = list.json.streams.find((x: { streamId: string }) => x.streamId === 'cam1');
    // The bitrate is averaged over a 5 s window: wait until it is full.
    return found && found.durationSeconds >= 6 ? found : undefined;
  }, 20_000, 'stream live for 6 s');
  assert.equal(s.app, 'live');
  assert.equal(s.protocol, 'rtmp');
  assert.deepEqual(s.video, { codec: 'h264', width: 1280, height: 720, fps: 30 });
  assert.equal(s.audio.codec, 'aac');
  assert.ok(s.bitrate > 1_000_000 && s.bitrate < 10_000_000, `bitrate ${s.bitrate}`);
  assert.ok(s.bytesIn > 100_000);
  assert.match(s.remoteAddress, /^127\.0\.0\.1:\d+$/);
  assert.ok(Date.parse(s.startedAt) <= Date.now());
  assert.match(s.recording.recordingId, /^[0-9a-f-]{36}$/);
  assert.deepEqual(s.urls, { hls: '/live/streams/cam1.m3u8', preview: '/live/previews/cam1.jpg', player: '/play.html?app=live&id=cam1' });
  const one = await api.get('/api/v1/streams/live/cam1');
  assert.equal(one.json.sessionId, s.sessionId);
  assert.equal((await api.get('/api/v1/streams?app=other')).json.streams.length, 0);
  assert.equal((await api.get('/api/v1/streams/live/nope')).status, 404);
  assert.equal((await api.get('/api/v1/applications/live')).json.liveStreams, 1);
});

test('live metrics: streams, ingest bitrate and recordings in progress', async () => {
  const script = new ApiClient(server.httpUrl, { token: (await api.post('/api/v1/auth/tokens', { name: 'prometheus' })).json.token });
  const res = await script.get('/metrics');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^text\/plain/);
  assert.match(res.text, /^bucketcast_live_streams\{app="live",protocol="rtmp"\} 1$/m);
  assert.match(res.text, /^bucketcast_live_streams\{app="other",protocol="rtmp"\} 0$/m);
  const bitrate = Number(/^bucketcast_ingest_bitrate_bits_per_second\{app="live",stream_id="cam1",protocol="rtmp"\} (\d+)$/m.exec(res.text)?.[1]);
  assert.ok(bitrate > 1_000_000, `bitrate ${bitrate}`);
  assert.match(res.text, /^bucketcast_recordings_in_progress\{app="live"\} 1$/m);
  assert.match(res.text, /^process_cpu_seconds_total /m, 'default process metrics');
});

test('stop and start the recording of a stream that stays live; 409 when it is not in the state asked for', async () => {
  const first = (await api.get('/api/v1/streams/live/cam1')).json.recording.recordingId;
  const again = await api.post('/api/v1/streams/live/cam1/recording');
  assert.equal(again.status, 409);
  assert.equal(again.json.error.code, 'already_recording');
  const stopped = await api.delete('/api/v1/streams/live/cam1/recording');
  assert.equal(stopped.status, 200, stopped.text);
  assert.equal(stopped.json.recordingId, first);
  // Final when the answer comes (its log line travels apart from the answer, so it is waited for).
  await server.events.waitFor('recording.completed', (e) => e.recordingId === first, 5_000, 'recording completed');
  const between = (await api.get('/api/v1/streams/live/cam1')).json;
  assert.equal(between.recording, null, 'live, not recording');
  assert.equal((await api.delete('/api/v1/streams/live/cam1/recording')).status, 409);
  const started = await api.post('/api/v1/streams/live/cam1/recording');
  assert.equal(started.status, 202);
  const second = await server.events.waitFor('recording.started', (e) => e.streamId === 'cam1' && e.recordingId !== first, 15_000, 'second recording');
  assert.equal((await api.get('/api/v1/streams/live/cam1')).json.recording.recordingId, second.recordingId);
  assert.equal((await api.post('/api/v1/streams/live/nope/recording')).status, 404);
  assert.equal((await api.delete('/api/v1/streams/live/nope/recording')).status, 404);
});

test('kick: the publisher is disconnected, the stream ends and its recording is finalized', async () => {
  const recordingId = (await api.get('/api/v1/streams/live/cam1')).json.recording.recordingId;
  const kicked = await api.post('/api/v1/streams/live/cam1/kick');
  assert.equal(kicked.status, 200);
  assert.equal(kicked.json.ended, true);
  const r = await publisher.done;
  assert.ok(publisher.elapsed() < 18, 'ffmpeg stopped before the end of its input');
  assert.notEqual(r.code, 0);
  assert.deepEqual((await api.get('/api/v1/streams')).json.streams, []);
  await server.events.waitFor('stream.ended', (e) => e.streamId === 'cam1' && e.reason === 'kicked', 5_000, 'publish ended: kicked');
  await server.events.waitFor('recording.completed', (e) => e.recordingId === recordingId, 20_000, 'recording completed after the kick');
  assert.equal((await api.post('/api/v1/streams/live/cam1/kick')).status, 404);
});
