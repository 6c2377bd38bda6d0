/**
 * Against a real Ceph radosgw with real RTMP pushes
 * (ffmpeg). The app's bucket belongs to the harness's admin user; a second
 * radosgw user owns a second bucket the admin cannot write.
 * - a recording started through the API with a pre-signed PUT `output` lands
 *   at exactly that key, byte-identical (read back with the harness's own
 *   credentials); once its local copy is gone, playback answers 404 saying
 *   where it was delivered;
 * - an URL that expires before the upload: `output_expired`, the local copy
 *   kept and still played; an URL already expired is refused at once;
 * - `s3://` + in-line keys: the whole recording (MP4, HLS, previews,
 *   sidecar) lands in the second user's bucket, and the keys appear nowhere
 *   in logs, API answers, the sidecar or the data dir (grepped);
 * - a destination rule sends `cam-*` to the second bucket (stored
 *   credential), the rest to the app's bucket; playback finds both;
 * - storage validation of a destination (in-line keys, a rule, wrong keys,
 *   a pre-signed URL), and bad `output`s refused with the field named.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getFrom, list } from '../helpers/s3-client-reads.js';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { startRadosgwTarget, type RadosgwTarget } from '../helpers/radosgw-target.js';
import { credentialEnv, s3SettingsFor } from '../helpers/s3.js';
import { startServer, until, type TestServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push, ffprobe, decodesCleanly, type Push } from '../helpers/media.js';
import { ApiClient, adminEnv, allOutput, tokenClient } from '../helpers/api.js';

const APP_BUCKET = 'appbucket';
const SECOND = 'second';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let rgw: RadosgwTarget;
let server: TestServer;
let api: ApiClient;
let src: string;
let secondKeys: { accessKeyId: string; secretAccessKey: string };
let second: S3Client;
let owner: S3Client;
const pushes: Push[] = [];


/** Pushes a stream, stops the recording it started by itself, starts one through the API with `body`; returns the new recording's id. */
async function recordByHand(streamId: string, body: unknown | (() => Promise<unknown>)): Promise<{ recordingId: string; answer: any }> {
  pushes.push(push(server.rtmpUrl('live', streamId), src, { loop: true }));
  const auto = await server.events.waitFor('recording.started', (e) => e.streamId === streamId, 20_000, `${streamId}: recording started`);
  const stopped = await api.delete(`/api/v1/streams/live/${streamId}/recording`);
  assert.equal(stopped.status, 200, stopped.text);
  const answer = await api.post(`/api/v1/streams/live/${streamId}/recording`, typeof body === 'function' ? await (body as () => Promise<unknown>)() : body);
  assert.equal(answer.status, 202, answer.text);
  const started = await server.events.waitFor('recording.started', (e) => e.streamId === streamId && e.recordingId !== auto.recordingId, 20_000, `${streamId}: second recording`);
  return { recordingId: String(started.recordingId), answer: answer.json };
}

async function stopRecording(streamId: string, recordingId: string): Promise<void> {
  const r = await api.delete(`/api/v1/streams/live/${streamId}/recording`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.recordingId, recordingId);
}

/** The recording's sidecar, its last file, is uploaded. */
const uploaded = (recordingId: string) => server.events.waitFor('upload.completed', (e) => e.kind === 'metadata' && e.recordingId === recordingId, 90_000, `${recordingId} uploaded`);

before(async () => {
  rgw = await startRadosgwTarget({ kms: false });
  await rgw.createBucket(APP_BUCKET);
  owner = rgw.client();
  secondKeys = await rgw.rgw.createUser('second-owner');
  second = rgw.client(secondKeys);
  await second.send(new CreateBucketCommand({ Bucket: SECOND }));
  src = await fixture({ seconds: 10 });
  server = await startServer({
    events: true,
    env: { ...credentialEnv(rgw), ...adminEnv() },
    config: {
      storage: { retryMaxDelaySeconds: 2 },
      applications: [{ name: 'live', previews: { periodSeconds: 2 }, s3: s3SettingsFor(rgw, APP_BUCKET, { partSizeMiB: 5 }) }],
    },
  });
  api = await tokenClient(server);
});

after(async () => {
  for (const p of pushes) await p.stop().catch(() => undefined);
  await server?.stop();
  server?.cleanup();
  await rgw?.cleanup();
});

test('the admin user cannot write the second bucket (the ground the other tests stand on)', async () => {
  await assert.rejects(owner.send(new PutObjectCommand({ Bucket: SECOND, Key: 'x', Body: 'x' })), /AccessDenied/);
});

test('pre-signed PUT output: the MP4 lands at exactly that key, byte-identical; then playback says where it went', async () => {
  const key = 'deliveries/2026/p1 take 1.mp4';
  const url = await getSignedUrl(owner, new PutObjectCommand({ Bucket: APP_BUCKET, Key: key }), { expiresIn: 3600 });
  const signature = new URL(url).searchParams.get('X-Amz-Signature')!;
  const { recordingId, answer } = await recordByHand('p1', { output: url });
  assert.equal(answer.output.kind, 'presigned-put');
  assert.ok(!JSON.stringify(answer).includes(signature), 'the answer shows no signature');
  assert.match(answer.output.url, /\/appbucket\/deliveries\/2026\/p1%20take%201\.mp4$/);
  await sleep(4000);
  await stopRecording('p1', recordingId);
  const done = await server.events.waitFor('upload.completed', (e) => e.recordingId === recordingId && e.kind === 'mp4', 60_000, 'pre-signed upload completed');
  assert.equal(done.bucket, APP_BUCKET);
  assert.equal(done.key, key);

  const body = await getFrom(owner, APP_BUCKET, key);
  const rec = (await api.get(`/api/v1/recordings/${recordingId}`)).json;
  const mp4 = rec.files.find((f: { kind: string }) => f.kind === 'mp4');
  assert.equal(mp4.state, 'uploaded');
  assert.equal(body.length, mp4.size);
  assert.equal(sha256(body), mp4.sha256, 'byte-identical to what was recorded');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bc-dest-'));
  try {
    writeFileSync(path.join(tmp, 'p1.mp4'), body);
    const probed = await ffprobe(path.join(tmp, 'p1.mp4'));
    assert.ok(probed.duration >= 3, `the delivered MP4 lasts ${probed.duration} s`);
    assert.ok(await decodesCleanly(path.join(tmp, 'p1.mp4')));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  // One object: nothing else of the recording went there or to the app's prefix of the bucket.
  assert.deepEqual(await list(owner, APP_BUCKET, 'deliveries/'), [key]);
  assert.ok(!(await list(owner, APP_BUCKET)).some((k) => k.includes(rec.name)), 'no HLS, previews or sidecar of it in the app bucket');
  // Primary mode deleted the local copy: playback says where it was delivered.
  const play = await fetch(`${server.httpUrl}/live/streams/${encodeURIComponent(done.name)}`);
  const text = await play.text();
  assert.equal(play.status, 404);
  const err = JSON.parse(text).error;
  assert.equal(err.code, 'delivered_elsewhere');
  assert.match(err.message, /delivered to http:\/\/127\.0\.0\.1:\d+\/appbucket\/deliveries\/2026\/p1%20take%201\.mp4/);
  assert.ok(!text.includes(signature));
  assert.ok(!allOutput(server).includes(signature), 'the signature is in no log line');
  // Deleting the recording leaves what was handed over: not this server's to delete.
  const deleted = await api.delete(`/api/v1/recordings/${recordingId}`);
  assert.equal(deleted.status, 200, deleted.text);
  assert.equal(deleted.json.objectsDeleted, 0);
  assert.equal(deleted.json.objectsKept, 1);
  assert.equal(sha256(await getFrom(owner, APP_BUCKET, key)), mp4.sha256, 'still there');
});

test('an URL that expires before the upload: output_expired, the local copy kept and played; an expired one is refused at once', async () => {
  const key = 'deliveries/late.mp4';
  // Signed just before the start: it expires while the stream is recorded.
  const { recordingId } = await recordByHand('p2', async () => ({ output: await getSignedUrl(owner, new PutObjectCommand({ Bucket: APP_BUCKET, Key: key }), { expiresIn: 3 }) }));
  await sleep(4500);
  await stopRecording('p2', recordingId);
  const failed = await server.events.waitFor('upload.failed', (e) => e.errorClass === 'permanent' && e.recordingId === recordingId, 60_000, 'output_expired');
  assert.equal(failed.code, 'output_expired');
  assert.match(failed.message, /the pre-signed PUT URL for http:\/\/\S+\/appbucket\/deliveries\/late\.mp4 expired at .*before the upload; the recording is kept on this server/);
  const rec = (await api.get(`/api/v1/recordings/${recordingId}`)).json;
  const mp4 = rec.files.find((f: { kind: string }) => f.kind === 'mp4');
  assert.equal(mp4.state, 'failed');
  assert.equal(mp4.errorCode, 'output_expired');
  const local = readdirSync(path.join(server.dataDir, 'live', 'streams')).filter((n) => n === mp4.name);
  assert.deepEqual(local, [mp4.name], 'the local copy is kept');
  await assert.rejects(owner.send(new GetObjectCommand({ Bucket: APP_BUCKET, Key: key })), /NoSuchKey/);
  const play = await fetch(`${server.httpUrl}/live/streams/${encodeURIComponent(mp4.name)}`);
  assert.equal(play.status, 200, 'served from the local copy');
  assert.equal(sha256(Buffer.from(await play.arrayBuffer())), sha256(readFileSync(path.join(server.dataDir, 'live', 'streams', mp4.name))));

  const expired = await getSignedUrl(owner, new PutObjectCommand({ Bucket: APP_BUCKET, Key: 'deliveries/never.mp4' }), { expiresIn: 1 });
  await sleep(1500);
  const refused = await api.post('/api/v1/streams/live/p2/recording', { output: expired });
  assert.equal(refused.status, 422);
  assert.equal(refused.json.error.code, 'output_expired');
});

test('s3:// + in-line keys: the whole recording lands in the second user\'s bucket; the keys appear nowhere', async () => {
  const output = { url: `s3://${SECOND}/inline/`, auth: { key: secondKeys.accessKeyId, secret: secondKeys.secretAccessKey } };
  const { recordingId, answer } = await recordByHand('s1', { output });
  assert.deepEqual(answer.output, { kind: 's3', url: `s3://${SECOND}/inline/`, bucket: SECOND, prefix: 'inline', endpoint: null, region: null, credentials: 'in-line' });
  await sleep(5000);
  await stopRecording('s1', recordingId);
  const done = await uploaded(recordingId);
  assert.equal(done.bucket, SECOND);
  const keys = await list(second, SECOND, 'inline/');
  const sidecarKey = String(done.key);
  assert.ok(keys.includes(sidecarKey), 'the sidecar');
  const sidecarText = (await getFrom(second, SECOND, sidecarKey)).toString('utf8');
  const sidecar = JSON.parse(sidecarText);
  const kinds = sidecar.objects.map((o: { kind: string }) => o.kind);
  for (const k of ['mp4', 'hls-playlist', 'hls-segment', 'preview', 'poster']) assert.ok(kinds.includes(k), `${k} in the sidecar`);
  assert.deepEqual(keys, [...sidecar.objects.map((o: { key: string }) => o.key), sidecarKey].sort(), 'every artifact under the prefix');
  for (const o of sidecar.objects) assert.equal(sha256(await getFrom(second, SECOND, o.key)), o.sha256, o.key);
  const recName = (await api.get(`/api/v1/recordings/${recordingId}`)).json.name;
  assert.ok(!(await list(owner, APP_BUCKET)).some((k) => k.includes(recName)), 'nothing in the app bucket');

  // Playback finds it in the second bucket (the app's credentials could not read it).
  const mp4 = sidecar.objects.find((o: { kind: string }) => o.kind === 'mp4');
  const play = await fetch(`${server.httpUrl}/live/streams/${encodeURIComponent(mp4.name)}`);
  assert.equal(play.status, 200);
  assert.equal(sha256(Buffer.from(await play.arrayBuffer())), mp4.sha256);

  // The keys: in no log line, no API answer, not in the sidecar, not in plain text under the data dir.
  await api.get(`/api/v1/recordings/${recordingId}`);
  await api.get('/api/v1/streams');
  await api.get('/api/v1/applications/live');
  for (const secret of [secondKeys.secretAccessKey, secondKeys.accessKeyId]) {
    assert.ok(!allOutput(server).includes(secret), 'not logged');
    assert.ok(!ApiClient.seen.some((t) => t.includes(secret)), 'not in an API answer');
    assert.ok(!sidecarText.includes(secret), 'not in the sidecar');
    let grep = '';
    try {
      grep = execFileSync('grep', ['-rlF', secret, server.dataDir], { encoding: 'utf8' });
    } catch (err) {
      assert.equal((err as { status: number }).status, 1, 'grep ran');
    }
    assert.equal(grep, '', 'not in plain text under the data dir');
  }
  assert.ok(existsSync(path.join(server.dataDir, 'destinations', `${recordingId}.json`)), 'kept (sealed) for uploads after a restart');
});

test('a destination rule: cam-* goes to the second bucket with a stored credential, the rest to the app bucket; playback finds both', async () => {
  const cred = await api.post('/api/v1/credentials/aws', { credentials: `${secondKeys.accessKeyId}:${secondKeys.secretAccessKey}`, friendlyName: 'second' });
  assert.equal(cred.status, 201, cred.text);
  const patched = await api.patch('/api/v1/applications/live', { destinations: [{ streamId: 'cam-*', url: `s3://${SECOND}/cams/`, credential: cred.json.sid }] });
  assert.equal(patched.status, 200, patched.text);
  assert.deepEqual((await api.get(`/api/v1/credentials/aws/${cred.json.sid}`)).json.usedBy, ['live']);
  assert.equal((await api.delete(`/api/v1/credentials/aws/${cred.json.sid}`)).status, 409, 'a rule uses it');

  const cam = push(server.rtmpUrl('live', 'cam-7'), src, { seconds: 5 });
  const lobby = push(server.rtmpUrl('live', 'lobby'), src, { seconds: 5 });
  pushes.push(cam, lobby);
  const camRec = String((await server.events.waitFor('recording.started', (e) => e.streamId === 'cam-7', 20_000, 'cam-7 started')).recordingId);
  const lobbyRec = String((await server.events.waitFor('recording.started', (e) => e.streamId === 'lobby', 20_000, 'lobby started')).recordingId);
  await Promise.all([cam.done, lobby.done]);
  const camDone = await uploaded(camRec);
  const lobbyDone = await uploaded(lobbyRec);
  assert.equal(camDone.bucket, SECOND);
  assert.match(String(camDone.key), /^cams\/streams\/cam-7_.*\.json$/);
  assert.equal(lobbyDone.bucket, APP_BUCKET);
  assert.match(String(lobbyDone.key), /^streams\/lobby_.*\.json$/);
  const camKeys = await list(second, SECOND, 'cams/');
  assert.ok(camKeys.length >= 5 && camKeys.every((k) => /^cams\/(streams|previews)\/cam-7_/.test(k)), camKeys.join(' '));
  const appKeys = await list(owner, APP_BUCKET);
  assert.ok(appKeys.some((k) => k.startsWith('streams/lobby_')));
  assert.ok(!appKeys.some((k) => k.includes('cam-7')), 'no cam-7 object in the app bucket');

  for (const [bucket, client, rec] of [[SECOND, second, camRec], [APP_BUCKET, owner, lobbyRec]] as const) {
    const r = (await api.get(`/api/v1/recordings/${rec}`)).json;
    const mp4 = r.files.find((f: { kind: string }) => f.kind === 'mp4');
    assert.equal(mp4.bucket, bucket, 'the catalog records the bucket');
    const play = await fetch(`${server.httpUrl}/live/streams/${encodeURIComponent(mp4.name)}`);
    assert.equal(play.status, 200, `${rec} plays`);
    assert.equal(sha256(Buffer.from(await play.arrayBuffer())), sha256(await getFrom(client, bucket, mp4.key)));
  }
  const poster = (await api.get(`/api/v1/recordings/${camRec}`)).json.files.find((f: { kind: string }) => f.kind === 'poster');
  assert.equal((await fetch(`${server.httpUrl}/live/previews/${encodeURIComponent(poster.name)}`)).status, 200, 'previews too');

  // Redirect mode, its base URL the app's bucket: a destination's object is redirected to a URL signed for its own bucket.
  const base = `${rgw.endpoint}/${APP_BUCKET}`;
  assert.equal((await api.patch('/api/v1/applications/live', { httpForwardingMode: 'redirect', httpForwardingBaseURL: base })).status, 200);
  try {
    for (const [rec, bucket] of [[camRec, SECOND], [lobbyRec, APP_BUCKET]] as const) {
      const mp4 = (await api.get(`/api/v1/recordings/${rec}`)).json.files.find((f: { kind: string }) => f.kind === 'mp4');
      const r = await fetch(`${server.httpUrl}/live/streams/${encodeURIComponent(mp4.name)}`, { redirect: 'manual' });
      assert.equal(r.status, 302, rec);
      const location = r.headers.get('location')!;
      if (bucket === SECOND) {
        assert.ok(location.startsWith(`${rgw.endpoint}/${SECOND}/cams/streams/`) && location.includes('X-Amz-Signature='), location);
        const body = Buffer.from(await (await fetch(location)).arrayBuffer());
        assert.equal(sha256(body), mp4.sha256, 'the signed redirect works');
      } else {
        assert.equal(location, `${base}/${mp4.key}`, 'the app bucket as before');
      }
    }
  } finally {
    await api.patch('/api/v1/applications/live', { httpForwardingMode: 'auto', httpForwardingBaseURL: '' });
  }

  // Deleting a recording deletes its objects in its destination, with the destination's credentials.
  const deleted = await api.delete(`/api/v1/recordings/${camRec}`);
  assert.equal(deleted.status, 200, deleted.text);
  assert.equal(deleted.json.objectsDeleted, camKeys.length);
  assert.deepEqual(await list(second, SECOND, 'cams/'), []);
});

test('storage validation of destinations: in-line keys, the rules, wrong keys, a pre-signed URL', async () => {
  const ok = await api.post('/api/v1/applications/live/destinations/validate', { output: { url: `s3://${SECOND}/probe/`, auth: { key: secondKeys.accessKeyId, secret: secondKeys.secretAccessKey } } });
  assert.equal(ok.status, 200, ok.text);
  const [report] = ok.json.destinations;
  assert.equal(report.ok, true, report.summary);
  assert.equal(report.report.target.bucket, SECOND);
  for (const step of ['write', 'multipart', 'head', 'read', 'delete']) assert.equal(report.report.steps.find((s: { step: string }) => s.step === step).status, 'ok', step);
  assert.deepEqual(await list(second, SECOND, 'probe/'), [], 'the probe removed its test object');

  const rules = await api.post('/api/v1/applications/live/destinations/validate');
  assert.equal(rules.status, 200, rules.text);
  assert.equal(rules.json.destinations.length, 1);
  assert.equal(rules.json.destinations[0].streamId, 'cam-*');
  assert.equal(rules.json.destinations[0].ok, true, rules.json.destinations[0].summary);

  const wrong = await api.post('/api/v1/applications/live/destinations/validate', { output: { url: `s3://${SECOND}/probe/`, auth: { key: secondKeys.accessKeyId, secret: 'not-the-secret-at-all-0000000000' } } });
  assert.equal(wrong.status, 200);
  assert.equal(wrong.json.destinations[0].ok, false);
  assert.ok(!wrong.text.includes('not-the-secret-at-all'), 'the wrong secret is not repeated');
  // The app's own keys may not write the second bucket: validation says so.
  const denied = await api.post('/api/v1/applications/live/destinations/validate', { output: { url: `s3://${SECOND}/probe/` } });
  assert.equal(denied.json.destinations[0].ok, false);
  assert.equal(denied.json.destinations[0].report.steps.find((s: { step: string }) => s.step === 'write').code, 'access_denied');

  const url = await getSignedUrl(owner, new PutObjectCommand({ Bucket: APP_BUCKET, Key: 'deliveries/check.mp4' }), { expiresIn: 600 });
  const pre = await api.post('/api/v1/applications/live/destinations/validate', { output: url });
  assert.equal(pre.json.destinations[0].ok, true);
  assert.match(pre.json.destinations[0].summary, /valid for \d+ more seconds; nothing is written/);
  await assert.rejects(owner.send(new GetObjectCommand({ Bucket: APP_BUCKET, Key: 'deliveries/check.mp4' })), /NoSuchKey/, 'no probe over the key');
});

test('bad outputs are refused with the field named and no value repeated', async () => {
  pushes.push(push(server.rtmpUrl('live', 'bad'), src, { loop: true }));
  await server.events.waitFor('recording.started', (e) => e.streamId === 'bad', 20_000, 'bad: started');
  assert.equal((await api.delete('/api/v1/streams/live/bad/recording')).status, 200);
  const secret = 'SuperSecretValue-123456789';
  const cases: Array<[unknown, string, RegExp]> = [
    ['s3://second/x/', 'output', /in an object/],
    ['ftp://example.com/x.mp4', 'output', /http\(s\)/],
    ['https://example.com/', 'output', /names no object/],
    ['not a url', 'output', /pre-signed PUT URL/],
    [{ url: 's3://b/x/' }, 'output.url', /bucket/],
    [{ url: 's3://bucké/x/' }, 'output.url', /ASCII/],
    [{ url: 's3://second/../x/' }, 'output.url', /"\.\."/],
    [{ url: 'https://second/x/' }, 'output.url', /s3:\/\//],
    [{ url: 's3://second/x/', auth: { key: 'AKIAEXAMPLE', secret }, credential: 'CR00000000000000000000000000000000' }, 'output', /either auth or credential/],
    [{ url: 's3://second/x/', auth: { key: 'AK', secret } }, 'output.auth.key', /access key id/],
    [{ url: 's3://second/x/', auth: { key: 'AKIAEXAMPLE', secret: 'has space in it' } }, 'output.auth.secret', /secret access key/],
    [{ url: 's3://second/x/', auth: 'AKIA:secret' }, 'output.auth', /key/],
    [{ url: 's3://second/x/', credential: 'CR00000000000000000000000000000000' }, 'output.credential', /no stored credential/],
    [{ url: 's3://second/x/', credential: 'nope' }, 'output.credential', /CR/],
    [{ url: 's3://second/x/', bucketz: 1 }, 'output.bucketz', /unknown field/],
    [{ url: 's3://second/x/', endpoint: 'gopher://x' }, 'output.endpoint', /http/],
    [[1, 2], 'output', /pre-signed PUT URL or an object/],
  ];
  for (const [output, field, message] of cases) {
    const r = await api.post('/api/v1/streams/live/bad/recording', { output });
    assert.equal(r.status, 422, `${JSON.stringify(output)}: ${r.text}`);
    const d = r.json.error.details.find((x: { path: string }) => x.path === field);
    assert.ok(d, `${JSON.stringify(output)} names ${field}: ${r.text}`);
    assert.match(d.message, message);
    assert.ok(!r.text.includes(secret), 'no value repeated');
  }
  const extra = await api.post('/api/v1/streams/live/bad/recording', { output: null, target: 'x' });
  assert.equal(extra.status, 422);
  assert.equal(extra.json.error.details[0].path, 'target');
  // Nothing was started by the refused requests.
  assert.equal((await api.get('/api/v1/streams/live/bad')).json.recording, null);
  await until(async () => (await api.get('/api/v1/streams/live/bad')).status === 200, 5000, 'still live');
});
