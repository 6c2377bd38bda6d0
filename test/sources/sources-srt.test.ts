/**
 * SRT sources. A listener source (`srt://:<port>?mode=listener` with
 * a streamid and a passphrase): a push with the wrong passphrase is refused by
 * the SRT handshake, one with the wrong streamid is refused by the server's
 * gate, neither is recorded and the source says why; the right push (ffmpeg
 * `-f mpegts srt://…?mode=caller`) is recorded like an RTMP push, and the
 * listener takes the next caller after it. A caller source pulls from an SRT
 * listener far end. The passphrase is never answered.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startServer, until, type TestServer } from '../helpers/server.js';
import { ffprobe, decodesCleanly } from '../helpers/media.js';
import { ApiClient, adminEnv, allOutput, login } from '../helpers/api.js';
import { download, sourceState } from '../helpers/sources.js';

const PASS = 'srt-Secret-0123';
let server: TestServer;
let api: ApiClient;
const procs: ChildProcess[] = [];

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(r));
  return port;
}

/** ffmpeg pushing a test pattern (H.264 + AAC in MPEG-TS) as an SRT caller; resolves with its exit code. */
function srtPush(url: string, seconds: number): { proc: ChildProcess; done: Promise<number | null> } {
  const proc = spawn(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', `testsrc=s=320x240:r=25:d=${seconds}`, '-f', 'lavfi', '-i', `sine=f=440:d=${seconds}`, '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'mpegts', url],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  proc.stderr!.resume();
  procs.push(proc);
  return { proc, done: new Promise((r) => proc.on('exit', (code) => r(code))) };
}

before(async () => {
  server = await startServer({ events: true, env: adminEnv(), config: { server: { host: '127.0.0.1' }, applications: [{ name: 'live', s3RecordingEnabled: false }] } });
  api = await login(server);
});
after(async () => {
  await server?.stop();
  server?.cleanup();
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
});

async function recordings(streamId: string): Promise<any[]> {
  return (await api.get(`/api/v1/recordings?app=live&streamId=${streamId}`)).json.recordings;
}

test('an SRT listener source: wrong passphrase and wrong streamid refused and not recorded; the right push is recorded', async () => {
  const port = await freeUdpPort();
  const r = await api.post('/api/v1/applications/live/sources', { streamId: 'srt1', url: `srt://:${port}?mode=listener&streamid=cam-7&passphrase=${PASS}` });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.url, `srt://:${port}?mode=listener&streamid=cam-7&passphrase=***`);
  assert.equal(r.json.kind, 'srt-listener');
  await sourceState(api, 'live', 'srt1', 'connecting', 10_000);
  const other = await api.post('/api/v1/applications/live/sources', { streamId: 'srt2', url: `srt://:${port}?mode=listener` });
  assert.equal(other.status, 409, 'one listener per port');
  assert.equal(other.json.error.code, 'port_in_use');
  await new Promise((res) => setTimeout(res, 500));

  const wrongPass = srtPush(`srt://127.0.0.1:${port}?mode=caller&streamid=cam-7&passphrase=wrong-passphrase-1`, 3);
  assert.notEqual(await wrongPass.done, 0, 'the caller with the wrong passphrase fails');
  const afterPass = await sourceState(api, 'live', 'srt1', 'connecting', 10_000, (s) => /wrong passphrase/.test(s.lastError ?? ''));
  assert.equal(afterPass.state, 'connecting', 'still listening');

  const wrongSid = srtPush(`srt://127.0.0.1:${port}?mode=caller&streamid=cam-8&passphrase=${PASS}`, 3);
  assert.notEqual(await wrongSid.done, 0, 'the caller with the wrong streamid fails');
  await sourceState(api, 'live', 'srt1', 'connecting', 10_000, (s) => /wrong streamid "cam-8"/.test(s.lastError ?? ''));
  assert.equal((await recordings('srt1')).length, 0, 'nothing recorded from refused callers');
  assert.equal((await api.get('/api/v1/streams/live/srt1')).status, 404);

  // The gate drops a refused caller's address for a while: the right push comes from a fresh ffmpeg (a new port).
  const right = srtPush(`srt://127.0.0.1:${port}?mode=caller&streamid=cam-7&passphrase=${PASS}`, 8);
  const live = await sourceState(api, 'live', 'srt1', 'live', 20_000);
  assert.equal(live.lastError, null);
  const s = (await api.get('/api/v1/streams/live/srt1')).json;
  assert.equal(s.protocol, 'srt');
  assert.match(s.remoteAddress, /^127\.0\.0\.1:\d+$/);
  assert.equal(await right.done, 0);
  const rec = await until(async () => (await recordings('srt1'))[0], 60_000, 'srt1 recorded');
  const file = await download(`${server.httpUrl}${(await api.get(`/api/v1/recordings/${rec.recordingId}`)).json.urls.mp4}`);
  try {
    const p = await ffprobe(file);
    assert.deepEqual(p.streams.map((x) => x.codec_name).sort(), ['aac', 'h264']);
    assert.ok(p.duration >= 5, `duration ${p.duration}`);
    assert.ok(await decodesCleanly(file));
  } finally {
    rmSync(file, { force: true });
  }
  // Back to listening for the next caller.
  await sourceState(api, 'live', 'srt1', 'connecting', 15_000);
  assert.ok(!allOutput(server).includes(PASS), 'the passphrase is in no log line');
  assert.ok(!readFileSync(path.join(server.dataDir, 'sources.json'), 'utf8').includes(PASS));
  assert.equal((await api.delete('/api/v1/applications/live/sources/srt1')).status, 204);
});

test('an SRT caller source pulls from an SRT listener far end', async () => {
  const port = await freeUdpPort();
  const far = srtPush(`srt://127.0.0.1:${port}?mode=listener&passphrase=${PASS}`, 30);
  await new Promise((res) => setTimeout(res, 500));
  const r = await api.post('/api/v1/applications/live/sources', { streamId: 'srtc', url: `srt://127.0.0.1:${port}?passphrase=${PASS}` });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.kind, 'srt-caller');
  await sourceState(api, 'live', 'srtc', 'live', 20_000);
  await server.events.waitFor('recording.started', (e) => e.streamId === 'srtc', 20_000, 'srtc recording');
  await new Promise((res) => setTimeout(res, 4000));
  assert.equal((await api.delete('/api/v1/applications/live/sources/srtc')).status, 204);
  far.proc.kill('SIGKILL');
  const rec = await until(async () => (await recordings('srtc'))[0], 60_000, 'srtc recorded');
  assert.ok(rec.durationSeconds >= 3, `duration ${rec.durationSeconds}`);
});
