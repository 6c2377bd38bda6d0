/**
 * `GET /metrics` after real pushes: while the S3 server is down the
 * upload queue depth, pending bytes and the age of the oldest pending upload
 * grow and failures are counted by class and code; once it is back they go
 * to zero; forwarded playback is counted by mode and status. `/metrics` needs
 * an API token or a session unless `api.metrics.public` is set.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, until, type TestServer } from '../helpers/server.js';
import { startS3Target, credentialEnv, type S3TestTarget } from '../helpers/s3.js';
import { fixture } from '../helpers/fixtures.js';
import { push } from '../helpers/media.js';
import { ApiClient, adminEnv, login, tokenClient } from '../helpers/api.js';

let s3: S3TestTarget;
let server: TestServer;
let prometheus: ApiClient;

before(async () => {
  s3 = await startS3Target();
  await s3.createBucket('metrics');
  server = await startServer({
    env: adminEnv(credentialEnv(s3)),
    config: { applications: [{ name: 'live', s3: { bucket: 'metrics', endpoint: s3.endpoint, forcePathStyle: true } }], storage: { retryMaxDelaySeconds: 1 } },
  });
  prometheus = await tokenClient(server, 'prometheus');
});
after(async () => {
  await server.stop();
  server.cleanup();
  await s3.cleanup();
});

/** The value of one series (labels as written), or undefined. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function scrape(): Promise<string> {
  const res = await prometheus.get('/metrics');
  assert.equal(res.status, 200);
  return res.text;
}

test('the upload backlog and failures while the bucket is down, and zero once it is back', async () => {
  await s3.halt();
  const p = push(server.rtmpUrl('live', 'cam1'), await fixture({ seconds: 4 }));
  assert.equal((await p.done).code, 0);
  const during = await until(async () => {
    const t = await scrape();
    return (value(t, 'bucketcast_upload_failures_total{class="retryable",code="unreachable"}') ?? 0) >= 1 ? t : undefined;
  }, 60_000, 'a counted failure');
  const depth = value(during, 'bucketcast_upload_queue_depth')!;
  assert.ok(depth >= 4, `queue depth ${depth}`);
  assert.ok(value(during, 'bucketcast_upload_bytes_pending')! > 500_000, "the recording's bytes wait");
  assert.ok(value(during, 'bucketcast_upload_oldest_pending_age_seconds')! > 0);
  assert.equal(value(during, 'bucketcast_upload_files{state="failed"}'), 0, 'retryable: queued, not failed');
  assert.equal(value(during, 'bucketcast_recordings_in_progress{app="live"}'), 0);
  assert.equal(value(during, 'bucketcast_live_streams{app="live",protocol="rtmp"}'), 0);
  await new Promise((r) => setTimeout(r, 1500));
  const later = await scrape();
  assert.ok(value(later, 'bucketcast_upload_oldest_pending_age_seconds')! > value(during, 'bucketcast_upload_oldest_pending_age_seconds')!, 'the age grows');

  await s3.restart();
  const drained = await until(async () => {
    const t = await scrape();
    return value(t, 'bucketcast_upload_queue_depth') === 0 ? t : undefined;
  }, 60_000, 'the queue drained');
  assert.equal(value(drained, 'bucketcast_upload_bytes_pending'), 0);
  assert.equal(value(drained, 'bucketcast_upload_oldest_pending_age_seconds'), 0);
  assert.ok(value(drained, 'bucketcast_upload_failures_total{class="retryable",code="unreachable"}')! >= 1, 'failures stay counted');
});

test('forwarded playback is counted by mode and status', async () => {
  const session = await login(server);
  const rec = (await session.get('/api/v1/recordings?state=uploaded')).json.recordings[0];
  assert.ok(rec, 'an uploaded recording');
  // Primary mode: the local copy is gone, so the stable URL is forwarded (proxy mode: no base URL).
  const played = await fetch(`${server.httpUrl}${rec.urls.mp4}`);
  assert.equal(played.status, 200);
  await played.arrayBuffer();
  assert.equal((await fetch(`${server.httpUrl}/live/streams/never-recorded.mp4`)).status, 404);
  assert.equal((await fetch(`${server.httpUrl}/live/streams/never-recorded.flv`)).status, 404);
  const t = await scrape();
  assert.ok(value(t, 'bucketcast_forwarding_responses_total{mode="proxy",status="200"}')! >= 1);
  assert.ok(value(t, 'bucketcast_forwarding_responses_total{mode="proxy",status="404"}')! >= 1);
  assert.ok(value(t, 'bucketcast_forwarding_responses_total{mode="none",status="404"}')! >= 1, 'an extension that is not forwarded');
  assert.equal(value(t, 'bucketcast_webhook_pending_deliveries'), 0);
});

test('/metrics needs authentication unless api.metrics.public is set', async () => {
  assert.equal((await fetch(`${server.httpUrl}/metrics`)).status, 401);
  const bad = await fetch(`${server.httpUrl}/metrics`, { headers: { authorization: 'Bearer bct_wrong' } });
  assert.equal(bad.status, 401);
  const open = await startServer({ env: adminEnv(), config: { applications: [{ name: 'live', s3RecordingEnabled: false }], api: { metrics: { public: true } } } });
  try {
    const res = await fetch(`${open.httpUrl}/metrics`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /^bucketcast_live_streams\{app="live",protocol="rtmp"\} 0$/m);
    assert.equal((await fetch(`${open.httpUrl}/api/v1/applications`)).status, 401, 'only /metrics is public');
  } finally {
    await open.stop();
    open.cleanup();
  }
});
