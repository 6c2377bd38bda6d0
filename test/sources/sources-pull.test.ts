/**
 * Sources: a live HLS playlist (ffmpeg's HLS muxer behind a small
 * HTTP server) and an `rtmp://` pull (ffmpeg as an RTMP server, `-listen 1`)
 * are each pulled, published under their stream id and recorded like a push:
 * the MP4 plays with H.264 + AAC copied. An on-demand source stays idle until
 * a viewer asks for its live playlist; a playlist that has ended is not pulled
 * (it would be recorded again at each reconnect).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import WebSocket from 'ws';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, until, type TestServer } from '../helpers/server.js';
import { ffprobe, decodesCleanly } from '../helpers/media.js';
import { ApiClient, adminEnv, login } from '../helpers/api.js';
import { download, sourceState } from '../helpers/sources.js';

let server: TestServer;
let api: ApiClient;
const procs: ChildProcess[] = [];
let hlsDir: string;
let web: http.Server;

function ffmpeg(args: string[]): ChildProcess {
  const p = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  procs.push(p);
  return p;
}

const LAVFI = ['-re', '-f', 'lavfi', '-i', 'testsrc=s=320x240:r=25', '-f', 'lavfi', '-i', 'sine=f=440:r=44100', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac'];

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

before(async () => {
  hlsDir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-hls-src-'));
  ffmpeg([...LAVFI, '-f', 'hls', '-hls_time', '1', '-hls_list_size', '6', '-hls_flags', 'delete_segments', path.join(hlsDir, 'live.m3u8')]);
  web = http.createServer((req, res) => {
    try {
      const body = readFileSync(path.join(hlsDir, path.basename(new URL(req.url!, 'http://x').pathname)));
      res.writeHead(200, { 'content-type': req.url!.endsWith('.m3u8') ? 'application/vnd.apple.mpegurl' : 'video/mp2t' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  server = await startServer({ env: adminEnv(), config: { applications: [{ name: 'live', s3RecordingEnabled: false }] } });
  api = await login(server);
});
after(async () => {
  await server?.stop();
  server?.cleanup();
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  web?.close();
  rmSync(hlsDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
});

/** Waits for the stream's first recording to be final and checks its MP4. */
async function recordedMp4(streamId: string, minSeconds: number): Promise<void> {
  const rec = await until(async () => (await api.get(`/api/v1/recordings?app=live&streamId=${streamId}`)).json.recordings[0], 60_000, `${streamId} recorded`);
  const one = (await api.get(`/api/v1/recordings/${rec.recordingId}`)).json;
  const file = await download(`${server.httpUrl}${one.urls.mp4}`);
  try {
    const p = await ffprobe(file);
    assert.deepEqual(p.streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
    assert.ok(p.duration >= minSeconds, `${streamId}: ${p.duration} s`);
    assert.ok(await decodesCleanly(file));
  } finally {
    rmSync(file, { force: true });
  }
}

test('a live HLS playlist pulled as a source is recorded', async () => {
  await until(() => {
    try {
      return readFileSync(path.join(hlsDir, 'live.m3u8'), 'utf8').includes('.ts');
    } catch {
      return false;
    }
  }, 20_000, 'HLS playlist written');
  const port = (web.address() as net.AddressInfo).port;
  const ws = new WebSocket(`ws://127.0.0.1:${server.httpPort}/api/v1/events`, { headers: { cookie: api.auth.cookie! } });
  const states: string[] = [];
  ws.on('message', (m) => {
    const e = JSON.parse(String(m));
    if (e.type === 'source.state' && e.data.streamId === 'hls1') states.push(e.data.state);
  });
  await new Promise((res) => ws.once('open', res));
  const r = await api.post('/api/v1/applications/live/sources', { streamId: 'hls1', url: `http://127.0.0.1:${port}/live.m3u8` });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.kind, 'hls');
  await sourceState(api, 'live', 'hls1', 'live', 30_000);
  const s = await until(async () => (await api.get('/api/v1/streams/live/hls1')).json?.recording && (await api.get('/api/v1/streams/live/hls1')).json, 20_000, 'hls1 recording');
  assert.equal(s.protocol, 'hls');
  assert.equal(s.video.codec, 'h264');
  assert.equal(s.audio.codec, 'aac');
  await new Promise((res) => setTimeout(res, 5000));
  assert.equal((await api.patch('/api/v1/applications/live/sources/hls1', { enabled: false })).json.state, 'disabled');
  await until(() => states.includes('disabled'), 5000, 'source.state disabled event');
  ws.close();
  assert.deepEqual(states.slice(0, 2), ['connecting', 'live'], `source.state events: ${states.join(',')}`);
  await recordedMp4('hls1', 3);
  assert.equal((await api.get('/api/v1/streams/live/hls1')).status, 404, 'a disabled source is not live');
});

test('an rtmp:// stream pulled as a source is recorded', async () => {
  const port = await freePort();
  const far = ffmpeg([...LAVFI, '-t', '30', '-f', 'flv', '-loglevel', 'fatal', '-listen', '1', `rtmp://127.0.0.1:${port}/app/feed`]);
  await new Promise((res) => setTimeout(res, 500));
  const r = await api.post('/api/v1/applications/live/sources', { streamId: 'pull1', url: `rtmp://127.0.0.1:${port}/app/feed` });
  assert.equal(r.status, 201, r.text);
  await sourceState(api, 'live', 'pull1', 'live', 30_000);
  const s = await until(async () => {
    const j = (await api.get('/api/v1/streams/live/pull1')).json;
    return j?.recording ? j : undefined;
  }, 20_000, 'pull1 recording');
  assert.equal(s.protocol, 'rtmp');
  assert.equal(s.remoteAddress, `rtmp://127.0.0.1:${port}`);
  await new Promise((res) => setTimeout(res, 5000));
  assert.equal((await api.delete('/api/v1/applications/live/sources/pull1')).status, 204);
  far.kill('SIGKILL');
  await recordedMp4('pull1', 3);
});

test('an on-demand source is idle until a viewer asks for its live playlist; an ended HLS playlist is not pulled', async () => {
  const port = (web.address() as net.AddressInfo).port;
  const r = await api.post('/api/v1/applications/live/sources', { streamId: 'hlsod', url: `http://127.0.0.1:${port}/live.m3u8`, onDemand: true });
  assert.equal(r.status, 201, r.text);
  await sourceState(api, 'live', 'hlsod', 'idle', 5000);
  await new Promise((res) => setTimeout(res, 1500));
  assert.equal((await api.get('/api/v1/applications/live/sources/hlsod')).json.state, 'idle', 'nobody asked: not pulled');
  assert.equal((await fetch(`${server.httpUrl}/live/streams/hlsod.m3u8`)).status, 404, 'not live yet');
  await sourceState(api, 'live', 'hlsod', 'live', 30_000);
  const playlist = await until(async () => {
    const res = await fetch(`${server.httpUrl}/live/streams/hlsod.m3u8`);
    return res.status === 200 ? res.text() : undefined;
  }, 30_000, 'live playlist of the on-demand source');
  assert.match(playlist, /#EXTM3U/);
  assert.equal((await api.delete('/api/v1/applications/live/sources/hlsod')).status, 204);

  writeFileSync(path.join(hlsDir, 'vod.m3u8'), '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nvod0.ts\n#EXT-X-ENDLIST\n');
  const vod = await api.post('/api/v1/applications/live/sources', { streamId: 'vod1', url: `http://127.0.0.1:${port}/vod.m3u8` });
  assert.equal(vod.status, 201);
  const failed = await sourceState(api, 'live', 'vod1', 'failed', 10_000);
  assert.match(failed.lastError, /EXT-X-ENDLIST/);
  assert.equal((await api.get('/api/v1/recordings?app=live&streamId=vod1')).json.recordings.length, 0);
  assert.equal((await api.delete('/api/v1/applications/live/sources/vod1')).status, 204);
});

test('H.265 + Opus (which FLV cannot carry with this ffmpeg) from an HLS source: transcoded to H.264 + AAC and recorded', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-hls-hevc-'));
  ffmpeg(['-re', '-f', 'lavfi', '-i', 'testsrc=s=320x240:r=25', '-f', 'lavfi', '-i', 'sine=f=440:r=48000', '-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error:keyint=25', '-pix_fmt', 'yuv420p', '-c:a', 'libopus', '-f', 'hls', '-hls_time', '1', '-hls_list_size', '6', path.join(dir, 'hevc.m3u8')]);
  const web2 = http.createServer((req, res) => {
    try {
      res.writeHead(200).end(readFileSync(path.join(dir, path.basename(new URL(req.url!, 'http://x').pathname))));
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => web2.listen(0, '127.0.0.1', r));
  try {
    await until(() => {
      try {
        return readFileSync(path.join(dir, 'hevc.m3u8'), 'utf8').includes('.ts');
      } catch {
        return false;
      }
    }, 20_000, 'HEVC playlist written');
    const port = (web2.address() as net.AddressInfo).port;
    assert.equal((await api.post('/api/v1/applications/live/sources', { streamId: 'hevc1', url: `http://127.0.0.1:${port}/hevc.m3u8` })).status, 201);
    await sourceState(api, 'live', 'hevc1', 'live', 45_000);
    const s = await until(async () => {
      const j = (await api.get('/api/v1/streams/live/hevc1')).json;
      return j?.recording ? j : undefined;
    }, 20_000, 'hevc1 recording');
    assert.equal(s.video.codec, 'h264');
    assert.equal(s.audio.codec, 'aac');
    await new Promise((res) => setTimeout(res, 4000));
    assert.equal((await api.delete('/api/v1/applications/live/sources/hevc1')).status, 204);
    await recordedMp4('hevc1', 2);
    assert.ok(server.logs.some((l) => l.streamId === 'hevc1' && /transcoding it to AAC/.test(String(l.msg))));
    assert.ok(server.logs.some((l) => l.streamId === 'hevc1' && /transcoding it to H.264/.test(String(l.msg))));
  } finally {
    web2.close();
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }); // its HLS writer may still be closing a segment
  }
});
