/**
 * Time-range playback across parts and publishes, after the
 * local copies are gone (primary mode: every part is only in the bucket).
 * The list route shows the gap between two publishes of one stream id; a
 * time-range MP4 across three parts has the asked duration (up to one GOP
 * more: it starts at the keyframe before), decodes cleanly, is faststart and
 * answers Range; the HLS playlist of the range dates its segments and they
 * play through forwarding; bad input is 400, an unknown span 404.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, type TestServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push, ffprobe, topLevelBoxes, decodesCleanly } from '../helpers/media.js';
import { credentialEnv, s3SettingsFor, startS3Target, type S3TestTarget } from '../helpers/s3.js';
import { adminEnv, login } from '../helpers/api.js';
import { launchChromium } from '../helpers/player-browser.js';

const BUCKET = 'playback';
const GOP_S = 1;
let s3: S3TestTarget;
let server: TestServer;
let tmp: string;
const parts: Array<{ recording: string; part: number; startedAt: string; endedAt: string }> = [];

before(async () => {
  s3 = await startS3Target();
  await s3.createBucket(BUCKET);
  tmp = mkdtempSync(path.join(os.tmpdir(), 'bc-playback-'));
  server = await startServer({
    events: true,
    env: adminEnv(credentialEnv(s3)),
    config: {
      server: { playbackMaxDurationSeconds: 60 },
      applications: [{ name: 'live', recordSegmentSeconds: 5, previews: { periodSeconds: 2 }, s3: s3SettingsFor(s3, BUCKET) }],
    },
  });
  // Two publishes of one stream id with a pause between them.
  for (const [i, seconds] of [22, 8].entries()) {
    const src = await fixture({ seconds, width: 640, height: 360, videoKbps: 1000, gop: 30 });
    assert.equal((await push(server.rtmpUrl('live', 'cam'), src).done).code, 0);
    await server.events.waitFor('upload.completed', () => server.events.all('upload.completed', (e) => e.kind === 'metadata').length === i + 1, 60_000, `recording ${i + 1} uploaded`);
    if (i === 0) await new Promise((r) => setTimeout(r, 3000));
  }
  const api = await login(server);
  const list = (await api.get('/api/v1/recordings?app=live')).json as { recordings: Array<{ name: string; parts: Array<{ part: number; startedAt: string; endedAt: string; local: boolean; state: string }> }> };
  for (const r of list.recordings.reverse()) for (const p of r.parts) {
    assert.equal(p.state, 'uploaded');
    assert.equal(p.local, false, 'the local copy is gone');
    parts.push({ recording: r.name, ...p });
  }
});
after(async () => {
  await server?.stop();
  server?.cleanup();
  rmSync(tmp, { recursive: true, force: true });
  await s3.cleanup();
});

test('list: spans of recorded time with the gap between two publishes', async () => {
  const from = new Date(Date.parse(parts[0].startedAt) - 10_000).toISOString();
  const to = new Date(Date.now() + 10_000).toISOString();
  const res = await fetch(`${server.httpUrl}/live/playback/cam/list?from=${from}&to=${to}`);
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as { spans: Array<{ start: string; duration: number; mp4Url: string; hlsUrl: string }> };
  assert.equal(body.spans.length, 2, JSON.stringify(body.spans));
  const [a, b] = body.spans;
  assert.ok(Math.abs(a.duration - 22) <= 0.5, `first span ${a.duration} s`);
  assert.ok(Math.abs(b.duration - 8) <= 0.5, `second span ${b.duration} s`);
  const gap = (Date.parse(b.start) - Date.parse(a.start)) / 1000 - a.duration;
  assert.ok(gap >= 2, `a gap of ${gap} s between the publishes`);
  // The first span's URL plays (the whole first publish).
  const clip = await fetch(`${server.httpUrl}${a.mp4Url}`);
  assert.equal(clip.status, 200, await clip.clone().text());
});

test('a time-range MP4 across three parts, from the bucket: asked duration, faststart, clean decode, Range', async () => {
  const first = parts.filter((p) => p.recording === parts[0].recording);
  assert.ok(first.length >= 4, `${first.length} parts`);
  const start = new Date(Date.parse(first[0].startedAt) + 3000).toISOString();
  const duration = 9; // 3 s → 12 s: parts 1, 2 and 3
  const url = `${server.httpUrl}/live/playback/cam.mp4?start=${encodeURIComponent(start)}&duration=${duration}`;
  const res = await fetch(url);
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('content-type'), 'video/mp4');
  const body = Buffer.from(await res.arrayBuffer());
  const file = path.join(tmp, 'clip.mp4');
  writeFileSync(file, body);
  const probed = await ffprobe(file);
  console.log(`asked ${duration} s from ${start}: got ${probed.duration.toFixed(3)} s`);
  assert.ok(probed.duration >= duration - 0.1 && probed.duration <= duration + GOP_S + 0.1, `clip lasts ${probed.duration} s`);
  assert.deepEqual(probed.streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
  const boxes = topLevelBoxes(file);
  assert.ok(boxes.indexOf('moov') < boxes.indexOf('mdat'), 'faststart');
  assert.ok(await decodesCleanly(file), 'decodes cleanly');
  const ranged = await fetch(url, { headers: { range: 'bytes=100-199' } });
  assert.equal(ranged.status, 206);
  assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(body.subarray(100, 200)), 'the range is the same bytes');
  assert.ok(!readdirSync(path.join(server.dataDir, 'live', 'streams')).some((n) => n.endsWith('.mp4')), 'assembled from the bucket only');

  // And it plays in Chromium.
  const browser = await launchChromium();
  try {
    const page = await browser.page();
    await page.goto(`${server.httpUrl}/healthz`);
    await page.setContent(`<video id="v" muted autoplay src="${url}"></video>`);
    await page.waitForFunction("document.getElementById('v').currentTime > 3 || !!document.getElementById('v').error", undefined, { timeout: 30_000, polling: 250 });
    const played = (await page.evaluate("({ t: document.getElementById('v').currentTime, error: document.getElementById('v').error && document.getElementById('v').error.message })")) as { t: number; error: string | null };
    assert.equal(played.error, null);
    assert.ok(played.t > 3, `played ${played.t} s`);
  } finally {
    await browser.close();
  }
});

test('a time-range HLS playlist: dated segments served through forwarding', async () => {
  const start = new Date(Date.parse(parts[0].startedAt) + 2000).toISOString();
  const res = await fetch(`${server.httpUrl}/live/playback/cam.m3u8?start=${encodeURIComponent(start)}&duration=40`);
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.match(text, /#EXT-X-PLAYLIST-TYPE:VOD/);
  assert.match(text, /#EXT-X-ENDLIST/);
  const dates = text.split('\n').filter((l) => l.startsWith('#EXT-X-PROGRAM-DATE-TIME:'));
  assert.equal(dates.length, 2, 'one date per publish');
  assert.match(text, /#EXT-X-DISCONTINUITY/);
  const segments = text.split('\n').filter((l) => l.startsWith('/live/streams/'));
  assert.ok(segments.length >= 10, `${segments.length} segments`);
  for (const s of [segments[0], segments[segments.length - 1]]) {
    const seg = await fetch(`${server.httpUrl}${s}`);
    assert.equal(seg.status, 200, s);
    await seg.arrayBuffer();
  }
});

test('bad input: 400 naming the parameter, too long a span 400, nothing recorded 404', async () => {
  const start = encodeURIComponent(parts[0].startedAt);
  const cases: Array<[string, number, string]> = [
    [`/live/playback/cam.mp4?start=yesterday&duration=5`, 400, 'invalid_parameter'],
    [`/live/playback/cam.mp4?start=${start}&duration=-1`, 400, 'invalid_parameter'],
    [`/live/playback/cam.mp4?start=${start}`, 400, 'invalid_parameter'],
    [`/live/playback/cam.mp4?start=${start}&duration=61`, 400, 'span_too_long'],
    [`/live/playback/cam.mp4?start=2001-01-01T00:00:00Z&duration=5`, 404, 'no_recording'],
    [`/live/playback/other.m3u8?start=${start}&duration=5`, 404, 'no_recording'],
    [`/live/playback/cam/list?from=2030-01-01T00:00:00Z&to=2029-01-01T00:00:00Z`, 400, 'invalid_parameter'],
    [`/nope/playback/cam.mp4?start=${start}&duration=5`, 404, 'app_not_found'],
  ];
  for (const [url, status, code] of cases) {
    const res = await fetch(`${server.httpUrl}${url}`);
    assert.equal(res.status, status, url);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, code, url);
  }
  assert.ok(!existsSync(path.join(server.dataDir, '.playback')) || readdirSync(path.join(server.dataDir, '.playback')).every((n) => n.endsWith('.mp4')), 'no temp list left');
});
