/**
 * Imports: a 60 s MP4 (moov at the end, so ffmpeg must seek over
 * HTTP ranges) in a bucket of the test S3 server, imported from a pre-signed
 * GET URL, is recorded through the same pipeline (remux, poster, sidecar,
 * upload to the app's bucket) in well under 60 s, with `import.progress`
 * events on the live channel; the stable URL plays the whole minute. The
 * pre-signed URL's signature is never answered. Bad URLs are refused (422)
 * or fail with a clear error (404 at the far end).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { PutObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { startServer, until, type TestServer } from '../helpers/server.js';
import { startS3Target, credentialEnv, type S3TestTarget } from '../helpers/s3.js';
import { fixture } from '../helpers/fixtures.js';
import { ffprobe, decodesCleanly } from '../helpers/media.js';
import { ApiClient, adminEnv, allOutput, login } from '../helpers/api.js';
import { download } from '../helpers/sources.js';

let server: TestServer;
let s3: S3TestTarget;
let api: ApiClient;
let mp4: string;

before(async () => {
  s3 = await startS3Target();
  await s3.createBucket('rec');
  await s3.createBucket('inbox');
  // A 60 s 720p H.264 + AAC file as a camera or an editor leaves it: MP4 with its index at the end.
  const flv = await fixture({ seconds: 60 });
  mp4 = flv.replace(/\.flv$/, '-import.mp4');
  await promisify(execFile)('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', flv, '-c', 'copy', mp4]);
  await s3.client().send(new PutObjectCommand({ Bucket: 'inbox', Key: 'uploads/talk.mp4', Body: readFileSync(mp4), ContentType: 'video/mp4' }));
  server = await startServer({
    env: adminEnv(credentialEnv(s3)),
    config: { applications: [{ name: 'live', s3: { bucket: 'rec', endpoint: s3.endpoint, forcePathStyle: true, storageMode: 'dual' } }] },
  });
  api = await login(server);
});
after(async () => {
  await server?.stop();
  server?.cleanup();
  await s3?.cleanup();
  if (mp4) rmSync(mp4, { force: true });
});

test('a 60 s MP4 imported from a pre-signed GET URL: recorded and uploaded in well under 60 s, progress in events, the stable URL plays', async () => {
  const url = await getSignedUrl(s3.client(), new GetObjectCommand({ Bucket: 'inbox', Key: 'uploads/talk.mp4' }), { expiresIn: 600 });
  const signature = new URL(url).searchParams.get('X-Amz-Signature')!;
  const ws = new WebSocket(`ws://127.0.0.1:${server.httpPort}/api/v1/events`, { headers: { cookie: api.auth.cookie! } });
  const events: any[] = [];
  ws.on('message', (m) => {
    const e = JSON.parse(String(m));
    if (e.type === 'import.progress') events.push(e.data);
  });
  await new Promise((r) => ws.once('open', r));

  const t0 = Date.now();
  const r = await api.post('/api/v1/applications/live/imports', { url, streamId: 'talk' });
  assert.equal(r.status, 202, r.text);
  assert.equal(r.json.state, 'reading');
  assert.equal(r.json.streamId, 'talk');
  assert.ok(!r.text.includes(signature), 'the signature is masked');
  assert.match(r.json.url, /X-Amz-Signature=\*\*\*/);
  const id = r.json.importId;
  assert.equal(r.headers.get('location'), `/api/v1/applications/live/imports/${id}`);

  const done = await until(async () => {
    const j = (await api.get(`/api/v1/applications/live/imports/${id}`)).json;
    if (j.state === 'failed') throw new Error(`import failed: ${j.error}`);
    return j.state === 'completed' ? j : undefined;
  }, 60_000, 'import completed', 250);
  const recordedSeconds = (Date.now() - t0) / 1000;
  const rec = await until(async () => {
    const x = (await api.get(`/api/v1/recordings/${done.recordingId}`)).json;
    return x?.uploadState === 'uploaded' ? x : undefined;
  }, 60_000, 'import uploaded', 250);
  const uploadedSeconds = (Date.now() - t0) / 1000;
  console.log(`# 60 s MP4 imported: recorded in ${recordedSeconds.toFixed(1)} s, uploaded in ${uploadedSeconds.toFixed(1)} s`);
  assert.ok(uploadedSeconds < 40, `well under 60 s: ${uploadedSeconds} s`);
  assert.equal(done.progress, 1);
  assert.ok(Math.abs(done.durationSeconds - 60) < 1, `duration ${done.durationSeconds}`);
  assert.ok(done.seconds >= 59);

  // Progress in events: reading with rising fractions, then recorded and completed.
  ws.close();
  const states = events.map((e) => e.state);
  assert.ok(states.includes('reading') && states.includes('completed'), states.join(','));
  const fractions = events.filter((e) => e.state === 'reading').map((e) => e.progress);
  assert.ok(fractions.length >= 2, `progress events: ${fractions.join(',')}`);
  assert.deepEqual(fractions, [...fractions].sort((a, b) => a - b), 'rising');
  assert.equal(fractions.at(-1), 1, 'the last reading event says the whole file was read');
  assert.ok(events.every((e) => e.importId === id && e.app === 'live' && !JSON.stringify(e).includes(signature)));

  // The recording: same pipeline (poster, sidecar, HLS), protocol `import`, the stable URL plays the whole minute.
  assert.equal(rec.streamId, 'talk');
  const kinds = new Set(rec.files.map((f: { kind: string }) => f.kind));
  for (const k of ['mp4', 'poster', 'metadata']) assert.ok(kinds.has(k), k);
  const file = await download(`${server.httpUrl}${rec.urls.mp4}`);
  try {
    const p = await ffprobe(file);
    assert.deepEqual(p.streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
    assert.ok(Math.abs(p.duration - 60) < 1.5, `duration ${p.duration}`);
    assert.ok(await decodesCleanly(file));
  } finally {
    rmSync(file, { force: true });
  }
  assert.ok(!allOutput(server).includes(signature), 'the signature is in no log line');
});

test('bad imports: 422 for what is not an http(s) URL, a failed import says why, 404s', async () => {
  for (const body of [{}, { url: 'file:///etc/passwd' }, { url: 'rtsp://h/cam' }, { url: 'not a url' }, { url: 'http://h/x.mp4', streamId: '../x' }, { url: 'http://h/x.mp4', other: 1 }]) {
    const r = await api.post('/api/v1/applications/live/imports', body);
    assert.equal(r.status, 422, `${JSON.stringify(body)}: ${r.text}`);
  }
  assert.equal((await api.post('/api/v1/applications/nope/imports', { url: 'http://h/x.mp4' })).status, 404);
  assert.equal((await api.get('/api/v1/applications/live/imports/nope')).status, 404);
  const missing = await getSignedUrl(s3.client(), new GetObjectCommand({ Bucket: 'inbox', Key: 'uploads/none.mp4' }), { expiresIn: 600 });
  const r = await api.post('/api/v1/applications/live/imports', { url: missing });
  assert.equal(r.status, 202);
  const failed = await until(async () => {
    const j = (await api.get(`/api/v1/applications/live/imports/${r.json.importId}`)).json;
    return j.state === 'failed' ? j : undefined;
  }, 30_000, 'import of a missing object failed');
  assert.match(failed.error, /404|Not Found/i);
  // Not a video: an HTML page.
  const page = await api.post('/api/v1/applications/live/imports', { url: `${server.httpUrl}/api/v1/openapi.json` });
  const notVideo = await until(async () => {
    const j = (await api.get(`/api/v1/applications/live/imports/${page.json.importId}`)).json;
    return j.state === 'failed' ? j : undefined;
  }, 30_000, 'import of a JSON document failed');
  assert.ok(notVideo.error);
  const list = (await api.get('/api/v1/applications/live/imports')).json.imports;
  assert.equal(list[0].importId, page.json.importId, 'newest first');
});
