/**
 * A 20 s 720p H.264/AAC push is recorded as a faststart MP4, a VOD
 * HLS playlist of the same length, previews and a poster; the files are served
 * over HTTP with Range requests, and the live playlist while the push runs.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { startServer, until, type TestServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push, ffprobe, topLevelBoxes, decodesCleanly } from '../helpers/media.js';

let server: TestServer;
before(async () => {
  server = await startServer({ events: true });
});
after(async () => {
  await server.stop();
  server.cleanup();
});

test('a 20 s push becomes a faststart MP4, a VOD playlist, previews and a poster', async () => {
  const src = await fixture({ seconds: 20 });
  const p = push(server.rtmpUrl('live', 'cam1'), src);

  // While live: the stream's playlist is served under its stream id.
  const started = await server.events.waitFor('recording.started', (e) => e.streamId === 'cam1', 15_000, 'recording started');
  const name = String(started.name);
  assert.match(name, /^cam1_\d{8}T\d{6}Z$/);
  let live: Response | undefined;
  for (let i = 0; i < 40; i++) {
    live = await fetch(`${server.httpUrl}/live/streams/cam1.m3u8`);
    if (live.status === 200) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.equal(live!.status, 200);
  assert.equal(live!.headers.get('content-type'), 'application/vnd.apple.mpegurl');
  const liveText = await live!.text();
  // A live playlist: by default (parts on, hlsWindowSeconds 600) a sliding window, which has no playlist type.
  assert.match(liveText, /#EXT-X-MEDIA-SEQUENCE:0\n/);
  assert.doesNotMatch(liveText, /#EXT-X-ENDLIST|#EXT-X-PLAYLIST-TYPE:VOD/);
  let latest: Response | undefined;
  for (let i = 0; i < 40; i++) {
    latest = await fetch(`${server.httpUrl}/live/previews/cam1.jpg`);
    if (latest.status === 200) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.equal(latest!.status, 200, 'latest preview served while live');
  assert.equal(latest!.headers.get('content-type'), 'image/jpeg');

  const result = await p.done;
  assert.equal(result.code, 0, result.stderr);
  const pushed = (await ffprobe(src)).duration;

  const done = await server.events.waitFor('recording.completed', (e) => e.name === name, 20_000, 'recording completed');
  assert.equal(done.recovered, false);

  const streams = path.join(server.dataDir, 'live', 'streams');
  const previews = path.join(server.dataDir, 'live', 'previews');
  const mp4 = path.join(streams, `${name}.mp4`);
  const probed = await ffprobe(mp4);
  assert.ok(Math.abs(probed.duration - pushed) <= 0.5, `mp4 lasts ${probed.duration}s, pushed ${pushed}s`);
  assert.deepEqual(probed.streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
  const v = probed.streams.find((s) => s.codec_type === 'video')!;
  assert.equal(v.width, 1280);
  assert.equal(v.height, 720);
  const boxes = topLevelBoxes(mp4);
  assert.ok(boxes.indexOf('moov') >= 0 && boxes.indexOf('moov') < boxes.indexOf('mdat'), `moov before mdat: ${boxes.join(',')}`);
  assert.ok(await decodesCleanly(mp4), 'mp4 decodes without errors');

  const playlist = readFileSync(path.join(streams, `${name}.m3u8`), 'utf8');
  assert.match(playlist, /#EXT-X-PLAYLIST-TYPE:VOD/);
  assert.match(playlist.trim(), /#EXT-X-ENDLIST$/);
  const segs = [...playlist.matchAll(/^#EXTINF:([\d.]+),\s*\n(.+)$/gm)];
  const sum = segs.reduce((n, m) => n + Number(m[1]), 0);
  assert.ok(Math.abs(sum - pushed) <= 0.5, `segments add up to ${sum}s, pushed ${pushed}s`);
  for (const m of segs) assert.ok(existsSync(path.join(streams, m[2].trim())), `segment ${m[2]} exists`);
  assert.ok(!readdirSync(streams).some((n) => n.endsWith('.tmp')), 'no temp files left');

  const shots = readdirSync(previews).filter((n) => new RegExp(`^${name}_\\d{4}\\.jpg$`).test(n));
  assert.ok(shots.length >= 3, `at least 3 previews, got ${shots.length}`);
  assert.ok(existsSync(path.join(previews, `${name}.jpg`)), 'poster exists');
  const poster = await ffprobe(path.join(previews, `${name}.jpg`));
  assert.equal(poster.streams[0].height, 480, 'previews are scaled to 480 lines');
  // The stream's latest preview goes with the stream; the poster stands for the recording.
  await until(() => !existsSync(path.join(previews, 'cam1.jpg')), 5_000, 'latest preview removed once the stream ended');
  assert.deepEqual(readdirSync(path.join(server.dataDir, '.work')), [], 'no work dir left');

  // Served over HTTP, with Range.
  const full = await fetch(`${server.httpUrl}/live/streams/${name}.mp4`);
  assert.equal(full.status, 200);
  assert.equal(full.headers.get('content-type'), 'video/mp4');
  assert.equal(full.headers.get('accept-ranges'), 'bytes');
  await full.arrayBuffer();
  const ranged = await fetch(`${server.httpUrl}/live/streams/${name}.mp4`, { headers: { Range: 'bytes=0-99' } });
  assert.equal(ranged.status, 206);
  assert.equal((await ranged.arrayBuffer()).byteLength, 100);
  const seg = await fetch(`${server.httpUrl}/live/streams/${segs[0][2].trim()}`, { method: 'HEAD' });
  assert.equal(seg.status, 200);
  assert.equal(seg.headers.get('content-type'), 'video/mp2t');
  const vod = await fetch(`${server.httpUrl}/live/streams/${name}.m3u8`);
  assert.match(await vod.text(), /#EXT-X-ENDLIST/);
  const gone = await fetch(`${server.httpUrl}/live/streams/cam1.m3u8`);
  assert.equal(gone.status, 404, 'live alias ends with the stream');
  const health = (await (await fetch(`${server.httpUrl}/healthz`)).json()) as { status: string };
  assert.equal(health.status, 'ok');
});
