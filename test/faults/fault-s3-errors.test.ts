/**
 * Fault injection: S3 answers 500 InternalError, 503
 * ServiceUnavailable and 503 SlowDown (in turn, to every request) for a
 * minute, then is healthy again. Uploads fail as retryable while it lasts
 * (the files stay on disk), then complete: every file in the bucket once,
 * byte-identical to what was on disk, nothing left locally, and the server
 * still records and uploads a fresh stream.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push } from '../helpers/media.js';
import { credentialEnv, s3SettingsFor, startS3Target } from '../helpers/s3.js';
import { assertHealthy, assertInBucketOnce, assertNothingLeftLocally, freshPushUploads, sha256, waitUploaded } from '../helpers/fault.js';

const BUCKET = 'errors';
const WINDOW_MS = 60_000;

test('S3 answering 500/503/SlowDown for a minute: everything lands once, intact, after it', async (t) => {
  const s3 = await startS3Target();
  await s3.createBucket(BUCKET);
  const src = await fixture({ seconds: 6, width: 640, height: 360, videoKbps: 800 });
  const server = await startServer({
    events: true,
    env: credentialEnv(s3),
    config: {
      storage: { retryMaxDelaySeconds: 8 },
      applications: [{ name: 'live', previews: { periodSeconds: 2 }, s3: s3SettingsFor(s3, BUCKET, { partSizeMiB: 5 }) }],
    },
  });
  try {
    const p = push(server.rtmpUrl('live', 'storm'), src);
    const started = await server.events.waitFor('recording.started', () => true, 20_000, 'recording started');
    const name = String(started.name);
    const windowStart = Date.now();
    s3.proxy.failFor(WINDOW_MS, [
      { status: 500, code: 'InternalError', message: 'We encountered an internal error. Please try again.' },
      { status: 503, code: 'ServiceUnavailable', message: 'Service is unable to handle request.' },
      { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' },
    ]);
    assert.equal((await p.done).code, 0, 'the stream ended normally');
    await server.events.waitFor('recording.completed', (e) => e.name === name, 30_000, 'recording completed');
    await server.events.waitFor('upload.failed', (e) => e.errorClass === 'retryable', 30_000, 'a retryable failure');

    // While S3 fails: the files wait on disk; hash them as the reference for what was recorded.
    const hashed = new Map<string, string>();
    for (const folder of ['streams', 'previews']) {
      const dir = path.join(server.dataDir, 'live', folder);
      for (const n of readdirSync(dir).filter((x) => x.startsWith(`${name}.`) || x.startsWith(`${name}_`))) hashed.set(n, sha256(readFileSync(path.join(dir, n))));
    }
    assert.ok(hashed.size >= 4, `the recording's files wait on disk (${[...hashed.keys()].join(', ')})`);
    await assertHealthy(server);
    assert.ok(Date.now() - windowStart < WINDOW_MS, 'still inside the failure window');
    assert.deepEqual(server.events.all('upload.completed'), [], 'nothing uploaded while S3 fails');

    await waitUploaded(server, [name], WINDOW_MS + 90_000);
    const [firstSuccess] = server.events.all('upload.completed');
    assert.ok(firstSuccess && server.events.sentAt(firstSuccess) >= windowStart + WINDOW_MS - 1000, 'the first upload completed after the window');

    const failures = server.events.all('upload.failed', (e) => e.errorClass === 'retryable');
    const codes = new Set(failures.map((e) => e.code));
    // Which of the rotating answers ends an attempt depends on the SDK's own retries: each is one of the two classes.
    assert.ok(codes.size > 0 && [...codes].every((c) => c === 'throttled' || c === 'server_error'), `classified as throttling or server errors: ${[...codes].join(', ')}`);
    assert.deepEqual(server.events.all('upload.failed', (e) => e.errorClass === 'permanent'), [], 'no permanent failure');
    const statuses = new Set(s3.requests.filter((r) => r.status !== undefined).map((r) => r.status));
    assert.ok(statuses.has(500) && statuses.has(503), 'the proxy answered 500 and 503');
    // The app is paused while S3 fails: a probe per backoff (each a few SDK attempts), not a storm of requests.
    const inWindow = s3.requests.filter((r) => r.status === 500 || r.status === 503).length;
    const attempts = failures.length;
    assert.ok(attempts < hashed.size * 3 && inWindow < 150, `${attempts} failed attempts, ${inWindow} requests for ${hashed.size} files during the minute of errors`);
    t.diagnostic(`${attempts} failed attempts, ${inWindow} requests answered 5xx during the minute`);

    await assertInBucketOnce(s3, BUCKET, [name], hashed);
    assertNothingLeftLocally(server.dataDir, 'live', ['storm']);

    const fresh = await freshPushUploads(server, src, 'after');
    await assertInBucketOnce(s3, BUCKET, [name, fresh]);
    assertNothingLeftLocally(server.dataDir, 'live', ['storm', 'after']);
    await assertHealthy(server);
  } finally {
    await server.stop();
    server.cleanup();
    await s3.cleanup();
  }
});
