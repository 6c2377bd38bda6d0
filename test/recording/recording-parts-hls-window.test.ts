/**
 * A 24/7 stream does not fill the disk with HLS: with parts on,
 * `hlsWindowSeconds` bounds the local HLS (ffmpeg lists the last window and
 * deletes older segments).
 *   - without `hlsLiveUpload` the VOD playlist keeps the last window, placed
 *     in wall-clock time at the recording's end, and the whole recording still
 *     plays as one MP4 from /playback;
 *   - with `hlsLiveUpload` the bucket's playlist names every segment, during
 *     the push (more than the local window) and as the VOD at the end.
 * The setting is validated with a clear error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { startServer, until, type TestServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push, ffprobe, decodesCleanly } from '../helpers/media.js';
import { credentialEnv, s3SettingsFor, startS3Target } from '../helpers/s3.js';

const WINDOW_SECONDS = 6;
const HLS_TIME = 1;
/** Listed segments plus ffmpeg's delete threshold (1), the one being written, and one renamed a moment before the delete. */
const MOST_ON_DISK = WINDOW_SECONDS / HLS_TIME + 3;
const segmentsOf = (text: string) => text.split('\n').filter((l) => l.trim().endsWith('.ts'));
const durationOf = (text: string) => [...text.matchAll(/^#EXTINF:([\d.]+)/gm)].reduce((n, m) => n + Number(m[1]), 0);

function configFile(content: unknown): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'bc-cfg-')), 'c.json');
  writeFileSync(file, JSON.stringify(content));
  return file;
}

test('hlsWindowSeconds: 0 or at least 6 whole seconds, 600 by default', () => {
  const load = (app: Record<string, unknown>) => loadConfig({ BUCKETCAST_CONFIG: configFile({ applications: [{ name: 'live', ...app }] }) }).config.applications[0];
  assert.equal(load({}).hlsWindowSeconds, 600);
  assert.equal(load({ hlsWindowSeconds: 0 }).hlsWindowSeconds, 0);
  assert.equal(load({ hlsWindowSeconds: 6 }).hlsWindowSeconds, 6);
  for (const bad of [3, 5, -1]) {
    assert.throws(() => load({ hlsWindowSeconds: bad }), /applications\[0\]\.hlsWindowSeconds: .*(0 \(unbounded\) or at least 6 seconds|>=0)/, `${bad}`);
  }
  assert.throws(() => load({ hlsWindowSeconds: 7.5 }), /applications\[0\]\.hlsWindowSeconds: must be a whole number of seconds/);
  assert.throws(() => load({ hlsWindowSeconds: '600' }), /applications\[0\]\.hlsWindowSeconds/);
});

/** Samples the recording's local HLS until the push ends: the most segment files at once, the longest local listing. */
async function watchLocal(server: TestServer, app: string, name: string, running: () => boolean, also?: () => Promise<void>) {
  const streams = path.join(server.dataDir, app, 'streams');
  const segRe = new RegExp(`^${name}_\\d{5}\\.ts(\\.tmp)?$`);
  let files = 0;
  let listed = 0;
  let samples = 0;
  while (running()) {
    files = Math.max(files, readdirSync(streams).filter((n) => segRe.test(n)).length);
    const playlist = path.join(streams, `${name}.m3u8`);
    if (existsSync(playlist)) listed = Math.max(listed, segmentsOf(readFileSync(playlist, 'utf8')).length);
    await also?.();
    samples++;
    await new Promise((r) => setTimeout(r, 200));
  }
  return { files, listed, samples };
}

test('parts on, no live upload: local HLS stays within the window; the whole recording plays from /playback', { timeout: 180_000 }, async () => {
  const src = await fixture({ seconds: 30, width: 640, height: 360, videoKbps: 800, gop: 30 });
  const pushed = (await ffprobe(src)).duration;
  const server = await startServer({
    events: true,
    config: { applications: [{ name: 'live', recordSegmentSeconds: 10, hlsTime: HLS_TIME, hlsWindowSeconds: WINDOW_SECONDS, previews: { periodSeconds: 5 } }] },
  });
  try {
    const p = push(server.rtmpUrl('live', 'cam'), src);
    const name = String((await server.events.waitFor('recording.started', () => true, 15_000, 'recording started')).name);
    const seen = await watchLocal(server, 'live', name, () => p.proc.exitCode === null);
    console.log(`local HLS while live: at most ${seen.files} segment files, ${seen.listed} listed (${seen.samples} samples)`);
    assert.ok(seen.samples >= 50, `${seen.samples} samples`);
    assert.ok(seen.listed <= WINDOW_SECONDS / HLS_TIME, `the local playlist listed ${seen.listed} segments`);
    assert.ok(seen.files <= MOST_ON_DISK, `${seen.files} segment files on disk at once (window ${WINDOW_SECONDS / HLS_TIME})`);
    assert.equal((await p.done).code, 0);
    await server.events.waitFor('recording.completed', (e) => e.name === name, 60_000, 'recording completed');

    // The VOD playlist keeps the last window.
    const vod = readFileSync(path.join(server.dataDir, 'live', 'streams', `${name}.m3u8`), 'utf8');
    assert.match(vod, /#EXT-X-ENDLIST/);
    assert.match(vod, /#EXT-X-PLAYLIST-TYPE:VOD/);
    const kept = segmentsOf(vod);
    assert.ok(kept.length >= 3 && kept.length <= WINDOW_SECONDS / HLS_TIME + 1, `${kept.length} segments in the VOD playlist`);
    const onDisk = readdirSync(path.join(server.dataDir, 'live', 'streams')).filter((n) => n.endsWith('.ts'));
    assert.deepEqual(onDisk.sort(), [...kept].sort(), 'only the listed segments are kept');

    // The whole recording plays as one MP4, cut from its parts.
    const list = (await (await fetch(`${server.httpUrl}/live/playback/cam/list`)).json()) as { spans: Array<{ start: string; duration: number; mp4Url: string; hlsUrl: string }> };
    assert.equal(list.spans.length, 1, JSON.stringify(list));
    const span = list.spans[0];
    assert.ok(Math.abs(span.duration - pushed) <= 0.5, `span ${span.duration} s, pushed ${pushed} s`);
    const res = await fetch(`${server.httpUrl}${span.mp4Url}`);
    assert.equal(res.status, 200);
    const clip = path.join(server.dataDir, 'whole.mp4');
    writeFileSync(clip, Buffer.from(await res.arrayBuffer()));
    const probed = await ffprobe(clip);
    assert.ok(Math.abs(probed.duration - pushed) <= 1, `the /playback MP4 lasts ${probed.duration} s, pushed ${pushed} s`);
    assert.ok(await decodesCleanly(clip), 'the /playback MP4 decodes cleanly');

    // The range playlist places the kept window at the recording's end (its segments start past the beginning).
    const m3u8 = await (await fetch(`${server.httpUrl}${span.hlsUrl}`)).text();
    const pdt = Date.parse(/#EXT-X-PROGRAM-DATE-TIME:(\S+)/.exec(m3u8)?.[1] ?? '');
    const expected = Date.parse(span.start) + (span.duration - durationOf(vod)) * 1000;
    assert.ok(Math.abs(pdt - expected) <= 1500, `the window starts at ${new Date(pdt).toISOString()}, expected about ${new Date(expected).toISOString()}`);
    assert.ok(pdt - Date.parse(span.start) >= (pushed - WINDOW_SECONDS - 3) * 1000, 'the window is the end of the recording');
  } finally {
    await server.stop();
    server.cleanup();
  }
});

test('parts on, hlsLiveUpload: local HLS stays within the window; the bucket playlist covers the whole recording', { timeout: 180_000 }, async () => {
  const BUCKET = 'hls-window';
  const s3 = await startS3Target();
  await s3.createBucket(BUCKET);
  const src = await fixture({ seconds: 30, width: 640, height: 360, videoKbps: 800, gop: 30 });
  const pushed = (await ffprobe(src)).duration;
  const server = await startServer({
    events: true,
    env: credentialEnv(s3),
    config: { applications: [{ name: 'live', recordSegmentSeconds: 10, hlsLiveUpload: true, hlsTime: HLS_TIME, hlsWindowSeconds: WINDOW_SECONDS, previews: { periodSeconds: 5 }, s3: s3SettingsFor(s3, BUCKET) }] },
  }).catch(async (err: unknown) => {
    await s3.cleanup();
    throw err;
  });
  try {
    const p = push(server.rtmpUrl('live', 'cam'), src);
    const name = String((await server.events.waitFor('recording.started', () => true, 15_000, 'recording started')).name);
    const key = `streams/${name}.m3u8`;
    let bucketListed = 0;
    const seen = await watchLocal(server, 'live', name, () => p.proc.exitCode === null, async () => {
      const text = await s3.getObject(BUCKET, key).then((b) => b.toString('utf8'), () => '');
      if (p.proc.exitCode !== null || !text) return;
      assert.doesNotMatch(text, /#EXT-X-ENDLIST/, 'live: no end tag yet');
      assert.match(text, /#EXT-X-MEDIA-SEQUENCE:0\n/, 'the bucket playlist starts at the first segment');
      bucketListed = Math.max(bucketListed, segmentsOf(text).length);
    });
    console.log(`local HLS while live: at most ${seen.files} segment files, ${seen.listed} listed; the bucket playlist listed up to ${bucketListed}`);
    assert.ok(seen.listed <= WINDOW_SECONDS / HLS_TIME, `the local playlist listed ${seen.listed} segments`);
    assert.ok(seen.files <= MOST_ON_DISK, `${seen.files} segment files on disk at once`);
    assert.ok(bucketListed >= 2 * (WINDOW_SECONDS / HLS_TIME), `the bucket playlist listed at most ${bucketListed} segments while live (more than the local window)`);
    assert.equal((await p.done).code, 0);

    await server.events.waitFor('upload.completed', (e) => e.kind === 'metadata' && e.app === 'live', 60_000, 'recording uploaded');
    const vod = await until(async () => {
      const text = (await s3.getObject(BUCKET, key)).toString('utf8');
      return /#EXT-X-ENDLIST/.test(text) ? text : undefined;
    }, 20_000, 'the VOD playlist in the bucket');
    assert.match(vod, /#EXT-X-PLAYLIST-TYPE:VOD/);
    const segments = segmentsOf(vod);
    assert.ok(Math.abs(durationOf(vod) - pushed) <= 1.5, `the bucket VOD playlist lasts ${durationOf(vod)} s, pushed ${pushed} s`);
    assert.equal(segments[0], `${name}_00000.ts`, 'from the first segment');
    const numbers = segments.map((s) => Number(/_(\d{5})\.ts$/.exec(s)![1]));
    assert.deepEqual(numbers, numbers.map((_, i) => i), 'every segment, in order, none missing');
    const objects = new Set((await s3.listObjects(BUCKET, 'streams/')).map((o) => path.basename(o.key)));
    const writes = s3.writes(BUCKET);
    for (const s of segments) {
      assert.ok(objects.has(s), `${s} is in the bucket`);
      assert.equal(writes.get(`streams/${s}`), 1, `${s} written once`);
    }
    await until(() => !readdirSync(path.join(server.dataDir, 'live', 'streams')).some((n) => /\.(ts|m3u8|mp4)$/.test(n)), 20_000, 'nothing left locally');
    await until(() => !existsSync(path.join(server.dataDir, '.live-upload')) || readdirSync(path.join(server.dataDir, '.live-upload')).length === 0, 20_000, 'no live-upload links left');
  } finally {
    await server.stop();
    server.cleanup();
    await s3.cleanup();
  }
});
