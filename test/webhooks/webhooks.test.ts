/**
 * Webhooks: a receiver in the test gets liveStreamStarted,
 * liveStreamEnded, recordingReady and recordingUploaded (bucket, key, size,
 * checksum, duration, playback URL) for a real push, each signed
 * (X-Bucketcast-Signature, checked with the README's verification code);
 * when the receiver is down for a while and the server restarts in between,
 * recordingUploaded still arrives, once. Deliveries are listed through the
 * API, a ping can be sent, and a failed delivery sent again.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { startServer, until, type TestServer } from '../helpers/server.js';
import { startS3Target, credentialEnv, type S3TestTarget } from '../helpers/s3.js';
import { fixture } from '../helpers/fixtures.js';
import { push } from '../helpers/media.js';
import { ApiClient, adminEnv, allOutput, login } from '../helpers/api.js';

const SECRET = 'whsec_test_0123456789abcdef';
const PUBLIC_URL = 'https://media.example.com';

/** The README's verification snippet, as a receiver would use it. */
function verify(secret: string, rawBody: string, header: string, toleranceSeconds = 300): boolean {
  const parts = Object.fromEntries(header.split(',').map((kv) => kv.split('=', 2)));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest('hex');
  return parts.v1?.length === expected.length && timingSafeEqual(Buffer.from(parts.v1), Buffer.from(expected));
}

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  json: any;
  valid: boolean;
}

/** A webhook receiver on a fixed port, which can be stopped and started (an outage). */
class Receiver {
  readonly got: Received[] = [];
  private server?: http.Server;
  port = 0;
  status = 200;

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => (body += d));
      req.on('end', () => {
        this.got.push({ headers: req.headers, body, json: JSON.parse(body), valid: verify(SECRET, body, String(req.headers['x-bucketcast-signature'] ?? '')) });
        res.statusCode = this.status;
        res.end('ok');
      });
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/bucketcast?source=test`;
  }

  events(event: string, pred: (r: Received) => boolean = () => true): Received[] {
    return this.got.filter((r) => r.json.event === event && pred(r));
  }

  wait(event: string, pred: (r: Received) => boolean = () => true, timeoutMs = 60_000): Promise<Received> {
    return until(() => this.events(event, pred)[0], timeoutMs, `webhook ${event}`, 100);
  }
}

let s3: S3TestTarget;
let receiver: Receiver;
let server: TestServer;
let api: ApiClient;

const serverConfig = () => ({
  applications: [{ name: 'live', s3: { bucket: 'hooks', endpoint: s3.endpoint, forcePathStyle: true }, webhooks: [{ url: receiver.url, secret: SECRET }] }],
  storage: { retryMaxDelaySeconds: 2 },
  api: { publicUrl: PUBLIC_URL, webhooks: { retryMaxDelaySeconds: 1, timeoutSeconds: 3 } },
});

before(async () => {
  s3 = await startS3Target();
  await s3.createBucket('hooks');
  receiver = new Receiver();
  await receiver.start();
  server = await startServer({ env: adminEnv(credentialEnv(s3)), config: serverConfig() });
  api = await login(server);
});
after(async () => {
  await server.stop();
  server.cleanup();
  await receiver.stop();
  await s3.cleanup();
});

test('a push sends liveStreamStarted, liveStreamEnded, recordingReady and recordingUploaded, each signed', async () => {
  const started = push(server.rtmpUrl('live', 'cam1'), await fixture({ seconds: 4 }));
  assert.equal((await started.done).code, 0);
  const uploaded = await receiver.wait('recordingUploaded', (r) => r.json.data.streamId === 'cam1');
  for (const event of ['liveStreamStarted', 'liveStreamEnded', 'recordingReady', 'recordingUploaded']) {
    const got = receiver.events(event, (r) => r.json.data.streamId === 'cam1');
    assert.equal(got.length, 1, `${event} once`);
    const r = got[0];
    assert.ok(r.valid, `${event} signature is valid`);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['x-bucketcast-event'], event);
    assert.equal(r.headers['x-bucketcast-delivery'], r.json.id);
    assert.match(r.json.id, /^evt_[0-9a-f]{24}$/);
    assert.equal(r.json.app, 'live');
    assert.ok(!verify('another-secret-entirely', r.body, String(r.headers['x-bucketcast-signature'])), 'another secret does not verify');
    assert.ok(!verify(SECRET, r.body.replace('cam1', 'cam9'), String(r.headers['x-bucketcast-signature'])), 'a changed body does not verify');
  }
  const ready = receiver.events('recordingReady')[0].json.data;
  assert.equal(ready.playbackUrl, `${PUBLIC_URL}/live/streams/${ready.name}.mp4`);
  assert.ok(ready.files.some((f: { kind: string }) => f.kind === 'mp4'));
  const ended = receiver.events('liveStreamEnded')[0].json.data;
  assert.equal(ended.reason, 'publisher closed');
  assert.ok(ended.durationSeconds > 3);

  const d = uploaded.json.data;
  assert.equal(d.bucket, 'hooks');
  assert.match(d.key, /^streams\/cam1_\d{8}T\d{6}Z\.mp4$/);
  assert.ok(Math.abs(d.durationSeconds - 4) < 1);
  assert.equal(d.playbackUrl, `${PUBLIC_URL}/live/streams/${d.name}.mp4`);
  const object = await s3.getObject('hooks', d.key);
  assert.equal(d.size, object.length, 'size of the object in the bucket');
  assert.deepEqual(d.checksum, { algorithm: 'sha256', value: createHash('sha256').update(object).digest('hex') });
  assert.match(d.metadataKey, /\.json$/);
  assert.ok(d.objects.length >= 5 && d.objects.every((o: { key: string; sha256: string }) => o.key && o.sha256));

  const list = await api.get('/api/v1/webhooks/deliveries?app=live&state=delivered');
  assert.equal(list.status, 200);
  assert.ok(list.json.deliveries.length >= 4);
  const one = await api.get(`/api/v1/webhooks/deliveries/${uploaded.json.id}`);
  assert.equal(one.json.event, 'recordingUploaded');
  assert.equal(one.json.state, 'delivered');
  assert.equal(one.json.lastStatus, 200);
  assert.deepEqual(one.json.body, uploaded.json, 'the body as sent');
  assert.equal((await api.get('/api/v1/webhooks/deliveries?state=lost')).status, 400);
  assert.equal((await api.get('/api/v1/webhooks/deliveries/evt_nope')).status, 404);
});

test('the receiver down for a while and a server restart in between: recordingUploaded still arrives, once, signed', async () => {
  await receiver.stop();
  const p = push(server.rtmpUrl('live', 'cam2'), await fixture({ seconds: 4 }));
  assert.equal((await p.done).code, 0);
  // The recording is uploaded while nobody listens; its delivery waits in the outbox.
  const pending = await until(async () => {
    const list = await api.get('/api/v1/webhooks/deliveries?state=pending');
    return list.json.deliveries.find((d: { event: string; attempts: number }) => d.event === 'recordingUploaded' && d.attempts >= 1);
  }, 60_000, 'a pending recordingUploaded with failed attempts');
  assert.match(pending.lastError, /could not reach the receiver/);
  await server.stop();
  await receiver.start();
  server = await startServer({ env: adminEnv(credentialEnv(s3)), config: serverConfig(), dataDir: server.dataDir });
  api = await login(server);
  const got = await receiver.wait('recordingUploaded', (r) => r.json.data.streamId === 'cam2');
  assert.ok(got.valid, 'signature valid');
  assert.equal(got.json.id, pending.id, 'the same delivery');
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(receiver.events('recordingUploaded', (r) => r.json.data.streamId === 'cam2').length, 1, 'delivered once');
  for (const event of ['liveStreamStarted', 'liveStreamEnded', 'recordingReady']) {
    await receiver.wait(event, (r) => r.json.data.streamId === 'cam2');
  }
  const after = await api.get(`/api/v1/webhooks/deliveries/${pending.id}`);
  assert.equal(after.json.state, 'delivered');
  assert.ok(after.json.attempts >= 2);
});

test('a ping reaches the webhook; a delivery to a removed webhook fails and can be retried; secrets stay out of answers and logs', async () => {
  const ping = await api.post('/api/v1/applications/live/webhooks/test');
  assert.equal(ping.status, 202);
  const got = await receiver.wait('ping', (r) => r.json.id === ping.json.id);
  assert.ok(got.valid);
  assert.equal((await api.post('/api/v1/applications/live/webhooks/test', { url: 'http://127.0.0.1:9/none' })).status, 404);
  // A receiver that answers 500 keeps the delivery pending; removing the webhook then gives it up.
  receiver.status = 500;
  const failing = await api.post('/api/v1/applications/live/webhooks/test');
  await until(async () => (await api.get(`/api/v1/webhooks/deliveries/${failing.json.id}`)).json.lastStatus === 500, 20_000, 'a 500 answer recorded');
  receiver.status = 200;
  assert.equal((await api.patch('/api/v1/applications/live', { webhooks: [] })).status, 200);
  const failed = await until(async () => {
    const d = (await api.get(`/api/v1/webhooks/deliveries/${failing.json.id}`)).json;
    return d.state === 'failed' ? d : undefined;
  }, 20_000, 'delivery failed');
  assert.match(failed.lastError, /no longer in the application settings/);
  const retried = await api.post(`/api/v1/webhooks/deliveries/${failing.json.id}/retry`);
  assert.equal(retried.status, 200);
  assert.equal(retried.json.state, 'pending');
  const delivered = (await api.get('/api/v1/webhooks/deliveries?state=delivered')).json.deliveries[0];
  assert.equal((await api.post(`/api/v1/webhooks/deliveries/${delivered.id}/retry`)).status, 409);
  assert.equal((await api.post('/api/v1/applications/live/webhooks/test')).status, 404, 'no webhooks left');
  assert.ok(!ApiClient.seen.some((t) => t.includes(SECRET)));
  assert.ok(!allOutput(server).includes(SECRET));
  assert.ok(!allOutput(server).includes('source=test'), 'webhook URLs are logged without their query');
});
