/**
 * Fault injection: S3 stalls — no byte either way for 2 minutes —
 * in the middle of a multipart part. The upload client's inactivity timeout
 * (`storage.inactivityTimeoutSeconds`, 10 s here) aborts the attempt instead
 * of hanging forever, retries go on during the stall (and stall too), and
 * once S3 answers again everything lands once, intact; nothing stays on local
 * disk and the server still records and uploads a fresh stream.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push } from '../helpers/media.js';
import { credentialEnv, s3SettingsFor, startS3Target } from '../helpers/s3.js';
import { assertHealthy, assertInBucketOnce, assertNothingLeftLocally, freshPushUploads, waitUploaded } from '../helpers/fault.js';

const BUCKET = 'stall';
const STALL_MS = 120_000;
const INACTIVITY_S = 10;

test('S3 silent for 2 minutes mid-part: the attempt times out, uploads recover, everything lands once', async (t) => {
  const s3 = await startS3Target();
  await s3.createBucket(BUCKET);
  const big = await fixture({ seconds: 8, videoKbps: 6000 });
  const small = await fixture({ seconds: 3, width: 640, height: 360, videoKbps: 800 });
  const server = await startServer({
    events: true,
    env: credentialEnv(s3),
    config: {
      storage: { retryMaxDelaySeconds: 8, inactivityTimeoutSeconds: INACTIVITY_S },
      applications: [{ name: 'live', s3: s3SettingsFor(s3, BUCKET, { partSizeMiB: 5 }) }],
    },
  });
  try {
    const stalled = s3.proxy.stallAfter((r) => r.method === 'PUT' && r.query.includes('partNumber'), 1_000_000, STALL_MS);
    const p = push(server.rtmpUrl('live', 'stall'), big);
    const started = await server.events.waitFor('recording.started', () => true, 20_000, 'recording started');
    const name = String(started.name);
    assert.equal((await p.done).code, 0, 'the stream ended normally');

    // The attempt caught in the stall fails by the inactivity timeout, well before the stall ends.
    const failure = await server.events.waitFor('upload.failed', (e) => e.errorClass === 'retryable' && e.kind === 'mp4', STALL_MS, 'the stalled attempt timed out');
    assert.equal(failure.code, 'unreachable');
    assert.match(failure.message, /timed out|inactivity|TimeoutError/i);
    const { from, to, trigger } = await stalled;
    const failedAt = server.events.sentAt(failure);
    assert.ok(failedAt > from && failedAt < to, `the attempt failed ${Math.round((failedAt - from) / 1000)} s into the stall`);
    assert.ok(to - from >= STALL_MS - 100, `the stall lasted ${to - from} ms`);
    // The client gave up on the stalled part after the inactivity timeout and sent it again (it stalled too).
    const resent = s3.requests.find((r) => r.at > from && r.uploadId === trigger.uploadId && r.partNumber === trigger.partNumber);
    assert.ok(resent, 'the stalled part was sent again during the stall');
    const gaveUpAfter = resent.at - from;
    // Not before the inactivity timeout; and long before the stall ended, so it was the timeout (plus a retry
    // backoff of up to 8 s, and whatever a loaded machine adds) that gave up, not S3 answering again.
    assert.ok(gaveUpAfter >= INACTIVITY_S * 1000 - 1000 && gaveUpAfter < STALL_MS / 2, `the stalled part was given up ${gaveUpAfter} ms into the stall (inactivity timeout ${INACTIVITY_S} s)`);
    t.diagnostic(`stalled part given up and resent ${(gaveUpAfter / 1000).toFixed(1)} s into the stall; the attempt failed ${((failedAt - from) / 1000).toFixed(1)} s in; ${s3.requests.filter((r) => r.at > from && r.at < to).length} requests arrived during the ${STALL_MS / 1000} s stall`);
    const during = s3.proxy.traffic.filter((t) => t.at > from && t.at < to - 50);
    assert.deepEqual(during, [], 'not a byte went through during the stall');
    await assertHealthy(server);

    await waitUploaded(server, [name], 120_000);
    const mp4 = server.logs.find((l) => l.msg === 'upload completed' && l.kind === 'mp4');
    assert.ok(mp4 && Number(mp4.parts) >= 2, 'the MP4 went as a multipart upload');
    assert.deepEqual(server.events.all('upload.failed', (e) => e.errorClass === 'permanent'), [], 'no permanent failure');
    assert.ok(!server.otherOutput.some((l) => /requestTimeout|WARN/.test(l)), `no raw console warnings: ${server.otherOutput.join('\n')}`);

    await assertInBucketOnce(s3, BUCKET, [name]);
    assertNothingLeftLocally(server.dataDir, 'live', ['stall']);
    const fresh = await freshPushUploads(server, small, 'after');
    await assertInBucketOnce(s3, BUCKET, [name, fresh]);
    assertNothingLeftLocally(server.dataDir, 'live', ['stall', 'after']);
  } finally {
    await server.stop();
    server.cleanup();
    await s3.cleanup();
  }
});
