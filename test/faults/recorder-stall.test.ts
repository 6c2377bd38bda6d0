/**
 * A recorder that stops working for a while (a stalled disk, a descheduled
 * process: here SIGSTOP) holds its publisher back rather than losing media:
 * the server stops reading the publisher's socket, says so in its log once the
 * hold ends, and the recording is complete. Real ffmpeg on both sides; the
 * publisher pushes faster than real time so the recorder's buffer fills.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { startServer } from '../helpers/server.js';
import { login } from '../helpers/api.js';
import { fixture } from '../helpers/fixtures.js';
import { decodesCleanly, ffprobe } from '../helpers/media.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a stopped recorder holds its publisher back, the hold is logged, and nothing is lost', { timeout: 180_000 }, async () => {
  const src = await fixture({ seconds: 20, width: 1280, height: 720, videoKbps: 6000 });
  const server = await startServer({ events: true });
  try {
    // Four loops of a 16 MB file, as fast as TCP goes: 80 s of media, far more than a recorder's 8 MiB buffer.
    const pusher = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-stream_loop', '3', '-i', src, '-c', 'copy', '-f', 'flv', server.rtmpUrl('live', 'stalled')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let pushErr = '';
    pusher.stderr.on('data', (d) => (pushErr += d));
    const pushed = new Promise<number | null>((r) => pusher.on('exit', (code) => r(code)));
    const started = await server.events.waitFor('recording.started', (e) => e.streamId === 'stalled', 30_000, 'recording started');
    // The recorder's ffmpeg (its command line names the recording), once the spawn helper has started it.
    let pid = 0;
    for (let i = 0; i < 50 && !pid; i++) {
      const { stdout } = await run('pgrep', ['-f', '--', `-i pipe:0 .*${started.name}`]).catch(() => ({ stdout: '' }));
      pid = Number(stdout.trim().split('\n')[0]) || 0;
      if (!pid) await sleep(100);
    }
    assert.ok(pid > 0, 'the recorder ffmpeg is found');
    process.kill(pid, 'SIGSTOP');
    // Held: the server has stopped taking the publisher's bytes (its buffers for the recorder are full).
    const api = await login(server);
    const bytesIn = async () => Number((await api.get('/api/v1/streams/live/stalled')).json?.bytesIn ?? -1);
    let last = await bytesIn();
    for (let flat = 0, i = 0; flat < 4 && i < 240; i++) {
      await sleep(250);
      const now = await bytesIn();
      flat = now === last ? flat + 1 : 0;
      last = now;
    }
    assert.ok(last > 0, 'the stream is listed with its bytes in');
    await sleep(2500);
    process.kill(pid, 'SIGCONT');
    assert.equal(await pushed, 0, `the push ends cleanly: ${pushErr}`);
    await server.events.waitFor('recording.completed', (e) => e.name === started.name, 120_000, 'recording completed');
    const held = server.logs.filter((l) => l.msg === 'publisher held back while its recorder caught up' && l.streamId === 'stalled');
    assert.ok(held.length >= 1, 'the hold is logged');
    assert.ok(held.some((l) => Number(l.heldMs) >= 3000), `held ${held.map((l) => l.heldMs).join(', ')} ms`);
    const mp4 = path.join(server.dataDir, 'live', 'streams', `${started.name}.mp4`);
    const expected = 4 * (await ffprobe(src)).duration;
    const probed = await ffprobe(mp4);
    // On a failure, what the server said about this stream (holds, signals to ffmpeg, the publish's end).
    const said = server.logs.filter((l) => l.streamId === 'stalled' || l.level === 'warn' || l.level === 'error').map((l) => `${l.time} ${l.msg} ${l.heldMs ?? l.signal ?? l.reason ?? ''}`);
    assert.ok(Math.abs(probed.duration - expected) <= 0.5, `recorded ${probed.duration} s of ${expected} s; server log:\n${said.join('\n')}`);
    // The publisher closed its socket with megabytes still queued: anything the server sent it after that close (an
    // Acknowledgement) would have made its kernel reset the connection and drop that queue.
    const resets = server.logs.filter((l) => l.msg === 'rtmp socket error').map((l) => l.err);
    assert.deepEqual(resets, [], 'the publisher connection ends without a reset');
    assert.ok(await decodesCleanly(mp4), 'decodes without errors');
  } finally {
    await server.stop();
    server.cleanup();
  }
});
