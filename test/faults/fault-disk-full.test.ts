/**
 * Fault injection: the disk fills up during a recording. The data
 * dir is a small tmpfs, mostly taken by a ballast file.
 * - The recording in progress keeps what was recorded: ffmpeg fails with
 *   ENOSPC, the publisher is disconnected, and since the remux needs room too
 *   the fragmented MP4 and its manifest are kept, waiting.
 * - New publishers are refused cleanly while free space is below
 *   `server.minFreeDiskMiB`: RTMP with an error status, WHIP with 507, both
 *   `insufficient_storage`.
 * - Once space is freed (the ballast deleted) the server recovers by itself,
 *   with no restart: the kept recording is finalized, announced and uploaded
 *   (exactly once, intact), new publishers are accepted, nothing stays local.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push } from '../helpers/media.js';
import { credentialEnv, s3SettingsFor, startS3Target } from '../helpers/s3.js';
import { mountSmallDisk } from '../helpers/tmpfs.js';
import { browserLikeOffer } from '../helpers/whip.js';
import { assertHealthy, assertInBucketOnce, assertNothingLeftLocally, freshPushUploads, waitUploaded } from '../helpers/fault.js';

const BUCKET = 'diskfull';
const MiB = 1024 * 1024;

test('a full disk during a recording: it is kept, publishers refused cleanly, everything recovers by itself', async (t) => {
  const disk = mountSmallDisk(64);
  const s3 = await startS3Target();
  await s3.createBucket(BUCKET);
  const long = await fixture({ seconds: 20, videoKbps: 6000 });
  const short = await fixture({ seconds: 3, width: 640, height: 360, videoKbps: 800 });
  const server = await startServer({
    events: true,
    dataDir: disk.dir,
    env: credentialEnv(s3),
    config: {
      server: { minFreeDiskMiB: 16 },
      storage: { retryMaxDelaySeconds: 4 },
      applications: [{ name: 'live', previews: { periodSeconds: 2 }, s3: s3SettingsFor(s3, BUCKET, { partSizeMiB: 5 }) }],
    },
  });
  try {
    // Room for about 6 s of this stream (live MP4 + HLS), above the admission minimum.
    const ballast = disk.fillLeaving(28 * MiB);
    const p = push(server.rtmpUrl('live', 'filler'), long);
    const started = await server.events.waitFor('recording.started', (e) => e.streamId === 'filler', 20_000, 'recording started');
    const name = String(started.name);

    await server.waitForLog((l) => l.msg === 'ffmpeg failed while recording', 40_000, 'ffmpeg failing on the full disk');
    const ended = await server.events.waitFor('stream.ended', (e) => e.streamId === 'filler', 15_000, 'the publisher disconnected');
    assert.equal(ended.reason, 'insufficient storage');
    const pushed = await p.done;
    assert.notEqual(pushed.code, 0, 'the encoder saw its stream end');
    const kept = await server.waitForLog((l) => String(l.msg).startsWith('recording kept, not finalized yet') && l.name === name, 20_000, 'the recording kept');
    assert.match(String(kept.err), /no room to finalize/);
    assert.ok(disk.free() < 16 * MiB, `the disk is full (${Math.round(disk.free() / MiB)} MiB free)`);

    // New publishers are refused cleanly, over RTMP and WHIP.
    const refusedPush = push(server.rtmpUrl('live', 'late'), short);
    const refused = await server.events.waitFor('stream.refused', (e) => e.streamId === 'late', 15_000, 'rtmp refusal');
    assert.equal(refused.code, 'insufficient_storage');
    assert.match(refused.reason, /disk is full/);
    const r = await refusedPush.done;
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /disk is full|NetStream\.Failed|Server error/i, `the encoder was told: ${r.stderr}`);
    const whip = await fetch(`${server.httpUrl}/live/whip/webcam`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: browserLikeOffer() });
    assert.equal(whip.status, 507);
    const body = (await whip.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'insufficient_storage');
    const health = await assertHealthy(server);
    assert.equal((health.disk as { low: boolean }).low, true);
    assert.equal(health.awaitingFinalization, 1);

    // Space comes back: no restart, the server finishes the job by itself.
    rmSync(ballast);
    const completed = await server.events.waitFor('recording.completed', (e) => e.name === name, 30_000, 'the kept recording finalized');
    assert.ok(Number(completed.durationSeconds) >= 2, `what was recorded before the disk filled is kept (${completed.durationSeconds} s)`);
    await waitUploaded(server, [name], 60_000);
    t.diagnostic(`recorded ${completed.durationSeconds} s before the disk filled; kept, finalized and uploaded after space came back`);

    const fresh = await freshPushUploads(server, short, 'late');
    const docs = await assertInBucketOnce(s3, BUCKET, [name, fresh]);
    assert.ok(docs.get(name)!.objects.some((o) => o.kind === 'mp4' && o.size > MiB), 'the kept MP4 is in the bucket');
    assertNothingLeftLocally(server.dataDir, 'live', ['filler', 'late']);
    const after = await assertHealthy(server);
    assert.equal((after.disk as { low: boolean }).low, false);
    assert.equal(after.awaitingFinalization, 0);
  } finally {
    await server.stop();
    await s3.cleanup();
    disk.unmount();
  }
});
