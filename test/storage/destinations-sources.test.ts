/**
 * "for sources and imports at creation", against a real Ceph
 * radosgw and ffmpeg. The app's bucket belongs to the harness's admin user;
 * a second radosgw user owns a second bucket the admin cannot write.
 * - an import (a pre-signed GET of an MP4 in the app's bucket) with a
 *   pre-signed PUT `output`: the MP4 lands at exactly that key,
 *   byte-identical (read back with the harness's own credentials);
 * - an import and an `rtmp://` source with `s3://` + in-line keys: their
 *   recordings land in the second user's bucket under the prefix; the keys
 *   are in no answer, no log line, and not in clear under the data dir
 *   (`sources.json` seals them);
 * - bad outputs refused with the field named (a pre-signed URL for a source,
 *   an expired one for an import, a credential that does not exist, …).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { readFileSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getFrom, list } from '../helpers/s3-client-reads.js';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { startRadosgwTarget, type RadosgwTarget } from '../helpers/radosgw-target.js';
import { credentialEnv, s3SettingsFor } from '../helpers/s3.js';
import { startServer, until, type TestServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { ApiClient, adminEnv, allOutput, tokenClient } from '../helpers/api.js';
import { sourceState } from '../helpers/sources.js';
import { sourcesField } from '../../src/config/sources-schema.js';

const APP_BUCKET = 'appbucket';
const SECOND = 'second';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let rgw: RadosgwTarget;
let server: TestServer;
let api: ApiClient;
let src: string;
let mp4: string;
let secondKeys: { accessKeyId: string; secretAccessKey: string };
let second: S3Client;
let owner: S3Client;
const procs: ChildProcess[] = [];

const clipUrl = () => getSignedUrl(owner, new GetObjectCommand({ Bucket: APP_BUCKET, Key: 'inbox/clip.mp4' }), { expiresIn: 600 });

async function importDone(id: string): Promise<any> {
  return until(async () => {
    const j = (await api.get(`/api/v1/applications/live/imports/${id}`)).json;
    if (j.state === 'failed') throw new Error(`import failed: ${j.error}`);
    return j.state === 'completed' ? j : undefined;
  }, 60_000, 'import completed', 250);
}

/** The keys: in no log line, no API answer, not in plain text under the data dir. */
function assertKeysNowhere(): void {
  for (const secret of [secondKeys.secretAccessKey, secondKeys.accessKeyId]) {
    assert.ok(!allOutput(server).includes(secret), 'not logged');
    assert.ok(!ApiClient.seen.some((t) => t.includes(secret)), 'not in an API answer');
    let grep = '';
    try {
      grep = execFileSync('grep', ['-rlF', secret, server.dataDir], { encoding: 'utf8' });
    } catch (err) {
      assert.equal((err as { status: number }).status, 1, 'grep ran');
    }
    assert.equal(grep, '', 'not in plain text under the data dir');
  }
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

before(async () => {
  rgw = await startRadosgwTarget({ kms: false });
  await rgw.createBucket(APP_BUCKET);
  owner = rgw.client();
  secondKeys = await rgw.rgw.createUser('second-owner');
  second = rgw.client(secondKeys);
  await second.send(new CreateBucketCommand({ Bucket: SECOND }));
  src = await fixture({ seconds: 10 });
  mp4 = src.replace(/\.flv$/, '-dest-import.mp4');
  await promisify(execFile)('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', src, '-c', 'copy', mp4]);
  await owner.send(new PutObjectCommand({ Bucket: APP_BUCKET, Key: 'inbox/clip.mp4', Body: readFileSync(mp4), ContentType: 'video/mp4' }));
  server = await startServer(options());
  api = await tokenClient(server);
});

function options(sources: unknown[] = []) {
  return {
    events: true,
    env: { ...credentialEnv(rgw), ...adminEnv() },
    config: {
      storage: { retryMaxDelaySeconds: 2 },
      applications: [{ name: 'live', previews: { periodSeconds: 2 }, s3: s3SettingsFor(rgw, APP_BUCKET, { partSizeMiB: 5 }), sources }],
    },
  };
}

after(async () => {
  for (const p of procs) p.kill('SIGKILL');
  await server?.stop();
  server?.cleanup();
  await rgw?.cleanup();
  if (mp4) rmSync(mp4, { force: true });
});

test('an import with a pre-signed PUT output: its MP4 lands at exactly that key, byte-identical', async () => {
  const key = 'deliveries/imported take.mp4';
  const put = await getSignedUrl(owner, new PutObjectCommand({ Bucket: APP_BUCKET, Key: key }), { expiresIn: 3600 });
  const signature = new URL(put).searchParams.get('X-Amz-Signature')!;
  const r = await api.post('/api/v1/applications/live/imports', { url: await clipUrl(), streamId: 'imp-put', output: put });
  assert.equal(r.status, 202, r.text);
  assert.equal(r.json.output.kind, 'presigned-put');
  assert.match(r.json.output.url, /\/appbucket\/deliveries\/imported%20take\.mp4$/);
  assert.ok(!r.text.includes(signature), 'the answer shows no signature');
  const done = await importDone(r.json.importId);
  assert.equal(done.output.kind, 'presigned-put');
  const up = await server.events.waitFor('upload.completed', (e) => e.recordingId === done.recordingId && e.kind === 'mp4', 60_000, 'pre-signed upload completed');
  assert.equal(up.bucket, APP_BUCKET);
  assert.equal(up.key, key);
  const body = await getFrom(owner, APP_BUCKET, key);
  const rec = (await api.get(`/api/v1/recordings/${done.recordingId}`)).json;
  const file = rec.files.find((f: { kind: string }) => f.kind === 'mp4');
  assert.equal(file.state, 'uploaded');
  assert.equal(body.length, file.size);
  assert.equal(sha256(body), file.sha256, 'byte-identical to what was recorded');
  assert.deepEqual(await list(owner, APP_BUCKET, 'deliveries/'), [key], 'one object');
  assert.ok(!(await list(owner, APP_BUCKET)).some((k) => k.includes(rec.name)), 'nothing else of it in the app bucket');
  assert.ok(!allOutput(server).includes(signature), 'the signature is in no log line');
  assert.ok(!ApiClient.seen.some((t) => t.includes(signature)), 'nor in any answer');
});

test('an import with s3:// + in-line keys lands in the second user\'s bucket; the keys appear nowhere', async () => {
  const output = { url: `s3://${SECOND}/imports/`, auth: { key: secondKeys.accessKeyId, secret: secondKeys.secretAccessKey } };
  const r = await api.post('/api/v1/applications/live/imports', { url: await clipUrl(), streamId: 'imp-s3', output });
  assert.equal(r.status, 202, r.text);
  assert.deepEqual(r.json.output, { kind: 's3', url: `s3://${SECOND}/imports/`, bucket: SECOND, prefix: 'imports', endpoint: null, region: null, credentials: 'in-line' });
  const done = await importDone(r.json.importId);
  const up = await server.events.waitFor('upload.completed', (e) => e.kind === 'metadata' && e.recordingId === done.recordingId, 90_000, 'import uploaded');
  assert.equal(up.bucket, SECOND);
  const keys = await list(second, SECOND, 'imports/');
  const sidecar = JSON.parse((await getFrom(second, SECOND, String(up.key))).toString('utf8'));
  assert.deepEqual(keys, [...sidecar.objects.map((o: { key: string }) => o.key), String(up.key)].sort(), 'every artifact under the prefix');
  const m = sidecar.objects.find((o: { kind: string }) => o.kind === 'mp4');
  assert.equal(sha256(await getFrom(second, SECOND, m.key)), m.sha256);
  const name = (await api.get(`/api/v1/recordings/${done.recordingId}`)).json.name;
  assert.ok(!(await list(owner, APP_BUCKET)).some((k) => k.includes(name)), 'nothing in the app bucket');
  await api.get('/api/v1/applications/live/imports');
  assertKeysNowhere();
});

test('an rtmp:// source with s3:// + in-line keys: its recording lands in the second user\'s bucket; the keys appear nowhere', async () => {
  const port = await freePort();
  const far = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'fatal', '-re', '-i', src, '-c', 'copy', '-f', 'flv', '-listen', '1', `rtmp://127.0.0.1:${port}/app/feed`], { stdio: 'ignore' });
  procs.push(far);
  await new Promise((res) => setTimeout(res, 500));
  const output = { url: `s3://${SECOND}/cams/`, auth: { key: secondKeys.accessKeyId, secret: secondKeys.secretAccessKey } };
  const r = await api.post('/api/v1/applications/live/sources', { streamId: 'cam-pull', url: `rtmp://127.0.0.1:${port}/app/feed`, output });
  assert.equal(r.status, 201, r.text);
  const described = { kind: 's3', url: `s3://${SECOND}/cams/`, bucket: SECOND, prefix: 'cams', endpoint: null, region: null, credentials: 'in-line' };
  assert.deepEqual(r.json.output, described);
  assert.deepEqual((await api.get('/api/v1/applications/live/sources/cam-pull')).json.output, described);
  await sourceState(api, 'live', 'cam-pull', 'live', 30_000);
  const started = await server.events.waitFor('recording.started', (e) => e.streamId === 'cam-pull', 20_000, 'cam-pull recording started');
  // The far end plays its 10 s file and ends: the recording is finalized and uploaded; the source is removed before it reconnects for long.
  await new Promise<void>((res) => (far.exitCode !== null ? res() : far.once('exit', () => res())));
  assert.equal((await api.delete('/api/v1/applications/live/sources/cam-pull')).status, 204);
  const up = await server.events.waitFor('upload.completed', (e) => e.kind === 'metadata' && e.recordingId === started.recordingId, 90_000, 'source recording uploaded');
  assert.equal(up.bucket, SECOND);
  assert.match(String(up.key), /^cams\/streams\/cam-pull_.*\.json$/);
  const keys = await list(second, SECOND, 'cams/');
  assert.ok(keys.length >= 3 && keys.every((k) => /^cams\/(streams|previews)\/cam-pull_/.test(k)), keys.join(' '));
  assert.ok(!(await list(owner, APP_BUCKET)).some((k) => k.includes('cam-pull')), 'nothing in the app bucket');
  assertKeysNowhere();
});

test('a source\'s output is kept sealed across a restart, can be changed or removed, and config sources take a stored-credential output', async () => {
  const output = { url: `s3://${SECOND}/kept/`, auth: { key: secondKeys.accessKeyId, secret: secondKeys.secretAccessKey } };
  const r = await api.post('/api/v1/applications/live/sources', { streamId: 'kept', url: 'rtsp://127.0.0.1:9/none', enabled: false, output });
  assert.equal(r.status, 201, r.text);
  const file = readFileSync(`${server.dataDir}/sources.json`, 'utf8');
  assert.ok(!file.includes(secondKeys.secretAccessKey) && !file.includes(SECOND), 'sealed in sources.json');
  assertKeysNowhere();
  // Restarted with a config source whose output names a stored credential (in-line keys are not taken in a config file).
  const cred = await api.post('/api/v1/credentials/aws', { credentials: `${secondKeys.accessKeyId}:${secondKeys.secretAccessKey}`, friendlyName: 'second' });
  assert.equal(cred.status, 201, cred.text);
  const dataDir = server.dataDir;
  await server.stop();
  server = await startServer({ ...options([{ streamId: 'cfg-cam', url: 'rtsp://127.0.0.1:9/none', enabled: false, output: { url: `s3://${SECOND}/cfg/`, credential: cred.json.sid } }]), dataDir });
  api = await tokenClient(server);
  assert.equal((await api.get('/api/v1/applications/live/sources/kept')).json.output.url, `s3://${SECOND}/kept/`, 'read back after a restart');
  const cfg = (await api.get('/api/v1/applications/live/sources/cfg-cam')).json;
  assert.equal(cfg.origin, 'config');
  assert.deepEqual(cfg.output, { kind: 's3', url: `s3://${SECOND}/cfg/`, bucket: SECOND, prefix: 'cfg', endpoint: null, region: null, credentials: cred.json.sid });
  // The credential is in use while the source names it.
  assert.deepEqual((await api.get(`/api/v1/credentials/aws/${cred.json.sid}`)).json.usedBy, ['live']);
  const refused = await api.delete(`/api/v1/credentials/aws/${cred.json.sid}`);
  assert.equal(refused.status, 409, refused.text);
  assert.equal(refused.json.error.code, 'credential_in_use');
  assert.match(refused.json.error.message, /the output of source "cfg-cam" of "live"/);
  const inline = sourcesField.safeParse([{ streamId: 'x', url: 'rtsp://h/x', output: { url: `s3://${SECOND}/`, auth: { key: 'AKIA1234', secret: 'abcdef' } } }]);
  assert.ok(!inline.success && inline.error.issues.some((i) => i.path.join('.') === '0.output'), 'in-line keys refused in the config file');
  const changed = await api.patch('/api/v1/applications/live/sources/kept', { output: { url: `s3://${APP_BUCKET}/other/` } });
  assert.equal(changed.status, 200, changed.text);
  assert.equal(changed.json.output.credentials, 'app');
  const kept = await api.patch('/api/v1/applications/live/sources/kept', { enabled: false });
  assert.equal(kept.json.output.url, `s3://${APP_BUCKET}/other/`, 'a patch without output keeps it');
  const removed = await api.patch('/api/v1/applications/live/sources/kept', { output: null });
  assert.equal(removed.json.output, null);
  assert.equal((await api.delete('/api/v1/applications/live/sources/kept')).status, 204);
  assertKeysNowhere();
});

test('bad outputs for sources and imports: 422 naming the field, nothing created', async () => {
  const put = await getSignedUrl(owner, new PutObjectCommand({ Bucket: APP_BUCKET, Key: 'x.mp4' }), { expiresIn: 600 });
  const expired = await getSignedUrl(owner, new PutObjectCommand({ Bucket: APP_BUCKET, Key: 'late.mp4' }), { expiresIn: 1 });
  await new Promise((res) => setTimeout(res, 1500));
  const url = 'rtsp://127.0.0.1:9/none';
  const cases: Array<[string, unknown, number, string, string]> = [
    ['sources', { streamId: 'b1', url, output: put }, 422, 'output_invalid', 'output'],
    ['sources', { streamId: 'b2', url, output: 's3://second/x/' }, 422, 'output_invalid', 'output'],
    ['sources', { streamId: 'b3', url, output: { url: 's3://x/' } }, 422, 'output_invalid', 'output.url'],
    ['sources', { streamId: 'b9', url, output: { url: `s3://${SECOND}/a/../b/` } }, 422, 'output_invalid', 'output.url'],
    ['sources', { streamId: 'b4', url, output: { url: `s3://${SECOND}/`, auth: { key: 'AKIA1234' } } }, 422, 'output_invalid', 'output.auth.secret'],
    ['sources', { streamId: 'b5', url, output: { url: `s3://${SECOND}/`, credential: `CR${'0'.repeat(32)}` } }, 422, 'credential_not_found', 'output.credential'],
    ['sources', { streamId: 'b6', url, output: { url: `s3://${SECOND}/`, auth: { key: 'AKIA1234', secret: 'abcdef' }, credential: `CR${'0'.repeat(32)}` } }, 422, 'output_invalid', 'output'],
    ['sources', { streamId: 'b7', url, output: 42 }, 422, 'output_invalid', 'output'],
    ['imports', { url: 'http://127.0.0.1:9/x.mp4', output: expired }, 422, 'output_expired', 'output'],
    ['imports', { url: 'http://127.0.0.1:9/x.mp4', output: 'ftp://h/x.mp4' }, 422, 'output_invalid', 'output'],
    ['imports', { url: 'http://127.0.0.1:9/x.mp4', output: { url: `s3://${SECOND}/`, extra: 1 } }, 422, 'output_invalid', 'output.extra'],
    ['imports', { url: 'http://127.0.0.1:9/x.mp4', output: 'https://user:pw@h/x.mp4' }, 422, 'output_invalid', 'output'],
  ];
  const importsBefore = (await api.get('/api/v1/applications/live/imports')).json.imports.length;
  for (const [what, body, status, code, field] of cases) {
    const r = await api.post(`/api/v1/applications/live/${what}`, body);
    assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.json.error.code, code, r.text);
    assert.ok(r.json.error.details.some((d: { path: string }) => d.path === field), r.text);
    assert.ok(!r.text.includes('pw@') && !r.text.includes(new URL(put).searchParams.get('X-Amz-Signature')!), 'no value repeated');
  }
  for (const id of ['b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7', 'b9']) assert.equal((await api.get(`/api/v1/applications/live/sources/${id}`)).status, 404, id);
  assert.equal((await api.get('/api/v1/applications/live/imports')).json.imports.length, importsBefore, 'no import started');
  const patchBad = await api.post('/api/v1/applications/live/sources', { streamId: 'b8', url, enabled: false });
  assert.equal(patchBad.status, 201);
  const p = await api.patch('/api/v1/applications/live/sources/b8', { output: put });
  assert.equal(p.status, 422, p.text);
  assert.equal((await api.get('/api/v1/applications/live/sources/b8')).json.output, null, 'unchanged');
});
