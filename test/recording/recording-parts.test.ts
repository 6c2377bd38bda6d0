/**
 * With `recordSegmentSeconds: 10`, a 45 s push reaches the
 * bucket part by part while it runs: at least two verified MP4 parts are in
 * the bucket before the push ends, each decoding cleanly and lasting 10 s ±
 * one GOP; at the end the parts add up to the pushed length ± 0.5 s, nothing
 * is left on local disk, and the API shows one recording with its parts.
 */
import { test, before, after } from 'node:test';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, until } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push, ffprobe, topLevelBoxes, decodesCleanly } from '../helpers/media.js';
import { credentialEnv, s3SettingsFor, startS3Target, type S3TestTarget } from '../helpers/s3.js';
import { adminEnv, login } from '../helpers/api.js';

const BUCKET = 'parts';
const GOP_SECONDS = 2; // the fixture's keyframe interval (60 frames at 30 fps)
let s3: S3TestTarget;
/** Webhook deliveries received: event name, its data, and when. */
const hooks: Array<{ event: string; data: Record<string, unknown>; at: number }> = [];
let receiver: http.Server;
before(async () => {
  s3 = await startS3Target();
  await s3.createBucket(BUCKET);
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const j = JSON.parse(body) as { event: string; data: Record<string, unknown> };
      hooks.push({ event: j.event, data: j.data, at: Date.now() });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
});
after(async () => {
  receiver.closeAllConnections();
  await new Promise((r) => receiver.close(r));
  await s3.cleanup();
});

const PART = /_p(\d{4})\.mp4$/;

function metric(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

test('recordSegmentSeconds: parts are uploaded while the stream goes on and add up to the push', async () => {
  const src = await fixture({ seconds: 45 });
  const pushed = (await ffprobe(src)).duration;
  const server = await startServer({
    events: true,
    env: adminEnv(credentialEnv(s3)),
    config: {
      api: { webhooks: { retryMaxDelaySeconds: 1 } },
      applications: [{
        name: 'live',
        recordSegmentSeconds: 10,
        previews: { periodSeconds: 5 },
        s3: s3SettingsFor(s3, BUCKET),
        webhooks: [{ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, secret: 'a-webhook-secret-of-16+', events: ['recordingPartUploaded', 'recordingUploaded'] }],
      }],
    },
  });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bc-parts-'));
  try {
    const p = push(server.rtmpUrl('live', 'cam1'), src);
    const started = await server.events.waitFor('recording.started', () => true, 15_000, 'recording started');
    const name = String(started.name);
    // While the push runs: two parts verified in the bucket (the uploader logs a part's upload only once verified).
    const live = await until(async () => {
      const parts = (await s3.listObjects(BUCKET, 'streams/')).filter((o) => PART.test(o.key));
      return parts.length >= 2 ? parts : undefined;
    }, 40_000, 'two parts in the bucket');
    assert.equal(p.proc.exitCode, null, `the push is still running (${p.elapsed()} s in)`);
    for (const o of live.slice(0, 2)) {
      assert.ok(path.basename(o.key).startsWith(`${name}_p`), o.key);
      const file = path.join(tmp, path.basename(o.key));
      writeFileSync(file, await s3.getObject(BUCKET, o.key));
      const probed = await ffprobe(file);
      assert.ok(Math.abs(probed.duration - 10) <= GOP_SECONDS, `${o.key} lasts ${probed.duration} s`);
      assert.deepEqual(probed.streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
      const boxes = topLevelBoxes(file);
      assert.ok(boxes.indexOf('moov') < boxes.indexOf('mdat'), `${o.key} is faststart`);
      assert.ok(await decodesCleanly(file), `${o.key} decodes cleanly`);
      const head = await s3.headObject(BUCKET, o.key);
      assert.ok(head.metadata.sha256, 'verified upload carries its checksum');
    }

    const api = await login(server);
    const liveMetrics = (await api.get('/metrics')).text;
    assert.ok(metric(liveMetrics, 'bucketcast_recording_parts_uploaded')! >= 2, 'metrics count the parts uploaded while live');

    // recordingPartUploaded per part while the stream goes on; no recordingUploaded yet.
    const partHooksLive = await until(() => { const h = hooks.filter((x) => x.event === 'recordingPartUploaded'); return h.length >= 2 ? h : undefined; }, 30_000, 'two recordingPartUploaded webhooks');
    const pushEndedAt = await p.done.then(() => Date.now());
    assert.ok(partHooksLive[1].at < pushEndedAt, 'two part webhooks came while the push ran');
    assert.ok(!hooks.some((h) => h.event === 'recordingUploaded' && h.at < pushEndedAt), 'recordingUploaded waits for the end');
    const firstHook = hooks.find((h) => h.event === 'recordingPartUploaded')!.data;
    assert.equal(firstHook.part, 1);
    assert.equal(firstHook.name, name);
    assert.match(String(firstHook.key), /_p0001\.mp4$/);

    assert.equal((await p.done).code, 0);
    await server.events.waitFor('upload.completed', (e) => e.kind === 'metadata' && e.app === 'live', 60_000, 'recording uploaded');
    const parts = (await s3.listObjects(BUCKET, 'streams/')).filter((o) => PART.test(o.key)).sort((a, b) => a.key.localeCompare(b.key));
    assert.ok(parts.length >= 4 && parts.length <= 6, `${parts.length} parts`);
    let sum = 0;
    const durations: number[] = [];
    for (const [i, o] of parts.entries()) {
      assert.equal(Number(PART.exec(o.key)![1]), i + 1, 'parts numbered 1, 2, … without a hole');
      const file = path.join(tmp, path.basename(o.key));
      writeFileSync(file, await s3.getObject(BUCKET, o.key));
      const d = (await ffprobe(file)).duration;
      durations.push(d);
      sum += d;
      assert.ok(await decodesCleanly(file), `${o.key} decodes cleanly`);
    }
    console.log(`parts: ${durations.map((d) => d.toFixed(3)).join(' + ')} = ${sum.toFixed(3)} s; pushed ${pushed.toFixed(3)} s`);
    assert.ok(Math.abs(sum - pushed) <= 0.5, `parts add up to ${sum} s, pushed ${pushed} s`);

    // Every part announced once, and recordingUploaded once, after the last part.
    const uploadedHooks = await until(() => { const u = hooks.filter((h) => h.event === 'recordingUploaded'); return u.length ? u : undefined; }, 20_000, 'recordingUploaded webhook');
    await new Promise((r) => setTimeout(r, 1500)); // a second one would come within the retry delay
    assert.equal(hooks.filter((h) => h.event === 'recordingUploaded').length, 1, 'recordingUploaded once');
    const partHooks = hooks.filter((h) => h.event === 'recordingPartUploaded');
    assert.deepEqual(partHooks.map((h) => h.data.part).sort((a, b) => Number(a) - Number(b)), parts.map((_, i) => i + 1), 'recordingPartUploaded once per part');
    assert.ok(uploadedHooks[0].at >= Math.max(...partHooks.map((h) => h.at)), 'recordingUploaded after every part');

    // Nothing of the media left locally (primary mode), no work dir.
    const streams = path.join(server.dataDir, 'live', 'streams');
    const leftover = existsSync(streams) ? readdirSync(streams).filter((n) => /\.(mp4|fmp4|ts)$/.test(n)) : [];
    assert.deepEqual(leftover, [], 'no media left locally');
    await until(() => readdirSync(path.join(server.dataDir, '.work')).length === 0, 10_000, 'work dir removed');

    // One recording, its parts listed with wall-clock spans that tile it.
    const endMetrics = (await api.get('/metrics')).text;
    assert.equal(metric(endMetrics, 'bucketcast_recording_parts_uploaded'), parts.length);
    assert.equal(metric(endMetrics, 'bucketcast_recording_part_oldest_pending_age_seconds'), 0);
    const body = (await api.get('/api/v1/recordings?app=live')).json as { recordings: Array<{ name: string; inProgress?: boolean; parts: Array<{ part: number; name: string; startedAt: string; endedAt: string; durationSeconds: number }> }> };
    assert.equal(body.recordings.length, 1, 'one recording');
    const rec = body.recordings[0];
    assert.equal(rec.name, name);
    assert.ok(!rec.inProgress);
    assert.deepEqual(rec.parts.map((x) => x.name), parts.map((o) => path.basename(o.key)));
    // The sidecar lists the parts with their wall-clock spans and object keys.
    const sidecar = JSON.parse((await s3.getObject(BUCKET, `streams/${name}.json`)).toString('utf8')) as { parts: Array<{ part: number; key: string; startedAt: string; durationSeconds: number }> };
    assert.deepEqual(sidecar.parts.map((x) => x.key), parts.map((o) => o.key));
    assert.equal(sidecar.parts[0].startedAt, rec.parts[0].startedAt);
    for (let i = 1; i < rec.parts.length; i++) {
      const gap = Date.parse(rec.parts[i].startedAt) - Date.parse(rec.parts[i - 1].endedAt);
      assert.ok(Math.abs(gap) <= 1, `part ${i + 1} starts where part ${i} ended (${gap} ms)`);
    }

    // Deleting the recording deletes every part, in the bucket and in the catalog.
    const id = (body.recordings[0] as unknown as { recordingId: string }).recordingId;
    const deleted = await api.request('DELETE', `/api/v1/recordings/${id}`);
    assert.equal(deleted.status, 200, deleted.text);
    assert.deepEqual((await s3.listObjects(BUCKET, 'streams/')).filter((o) => o.key.includes(name)), [], 'no object of the recording left');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    await server.stop();
    server.cleanup();
  }
});
