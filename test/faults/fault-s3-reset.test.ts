/**
 * Fault injection: S3 connections reset (TCP RST) in the middle of
 * multipart parts and of a single PUT. The interrupted requests are retried;
 * every file lands once and intact, no part is left behind, nothing stays on
 * local disk, and the server still records and uploads a fresh stream.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push } from '../helpers/media.js';
import { credentialEnv, s3SettingsFor, startS3Target } from '../helpers/s3.js';
import { assertHealthy, assertInBucketOnce, assertNothingLeftLocally, freshPushUploads, waitUploaded } from '../helpers/fault.js';

const BUCKET = 'resets';

test('S3 connections reset mid-part and mid-PUT: retried, everything lands once, intact', async () => {
  const s3 = await startS3Target();
  await s3.createBucket(BUCKET);
  // About 7 MB: the MP4 goes as a two-part multipart upload (5 MiB parts).
  const big = await fixture({ seconds: 8, videoKbps: 6000 });
  const small = await fixture({ seconds: 3, width: 640, height: 360, videoKbps: 800 });
  const server = await startServer({
    events: true,
    env: credentialEnv(s3),
    config: {
      storage: { retryMaxDelaySeconds: 4 },
      applications: [{ name: 'live', s3: s3SettingsFor(s3, BUCKET, { partSizeMiB: 5 }) }],
    },
  });
  try {
    // Every first attempt of a part is cut after 1 MB of its body, as is the first PUT of an HLS segment.
    const isPart = (r: { method: string; query: string[] }) => r.method === 'PUT' && r.query.includes('partNumber');
    s3.proxy.resetAfter(isPart, 1_000_000, 3);
    const isSegmentPut = (r: { method: string; query: string[]; key?: string }) => r.method === 'PUT' && !r.query.includes('partNumber') && !!r.key?.endsWith('.ts');
    s3.proxy.resetAfter(isSegmentPut, 50_000, 1);

    const p = push(server.rtmpUrl('live', 'reset'), big);
    const started = await server.events.waitFor('recording.started', () => true, 20_000, 'recording started');
    const name = String(started.name);
    assert.equal((await p.done).code, 0, 'the stream ended normally');
    await waitUploaded(server, [name], 120_000);

    const mp4 = server.logs.find((l) => l.msg === 'upload completed' && l.kind === 'mp4');
    assert.ok(mp4 && Number(mp4.parts) >= 2, `the MP4 went as a multipart upload (${mp4?.parts} parts)`);
    const cutParts = s3.requests.filter((r) => isPart(r) && r.status === undefined).length;
    assert.ok(cutParts >= 3, `${cutParts} part uploads were cut off mid-body`);
    const cutPuts = s3.requests.filter((r) => isSegmentPut(r) && r.status === undefined).length;
    assert.ok(cutPuts >= 1, 'a segment PUT was cut off mid-body');
    assert.deepEqual(server.events.all('upload.failed', (e) => e.errorClass === 'permanent'), [], 'no permanent failure');

    await assertInBucketOnce(s3, BUCKET, [name]);
    assertNothingLeftLocally(server.dataDir, 'live', ['reset']);
    const fresh = await freshPushUploads(server, small, 'after');
    await assertInBucketOnce(s3, BUCKET, [name, fresh]);
    assertNothingLeftLocally(server.dataDir, 'live', ['reset', 'after']);
    await assertHealthy(server);
  } finally {
    await server.stop();
    server.cleanup();
    await s3.cleanup();
  }
});
