/**
 * A publisher faster than its recorder is slowed down by TCP backpressure
 * instead of taking the server down: a 60 s 40 Mbit/s FLV pushed without
 * `-re` (as fast as TCP goes) is recorded in full, and a publisher alongside
 * it at real time is recorded completely too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startServer } from '../helpers/server.js';
import { CACHE_DIR, fixture } from '../helpers/fixtures.js';
import { decodesCleanly, ffprobe, push } from '../helpers/media.js';

const run = promisify(execFile);

/** 60 s of 720p30 at 40 Mbit/s (noise keeps x264 from compressing below the target), ~300 MB, cached. */
async function burstFixture(): Promise<string> {
  mkdirSync(CACHE_DIR, { recursive: true });
  const file = path.join(CACHE_DIR, 'burst_60s_1280x720_40000k_noise.flv');
  if (existsSync(file)) return file;
  const tmp = `${file}.${process.pid}.tmp`;
  await run(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30,noise=alls=30:allf=t']
      .concat(['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '60'])
      .concat(['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0'])
      .concat(['-b:v', '40000k', '-maxrate', '40000k', '-bufsize', '80000k', '-pix_fmt', 'yuv420p'])
      .concat(['-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-f', 'flv', tmp]),
    { timeout: 600_000 },
  );
  renameSync(tmp, file);
  return file;
}

test('a 40 Mbit/s file pushed without -re is recorded in full, and a real-time publisher beside it too', { timeout: 600_000 }, async (t) => {
  const big = await burstFixture();
  const steadySrc = await fixture({ seconds: 20, width: 640, height: 360, videoKbps: 800 });
  const server = await startServer({ events: true });
  try {
    const steady = push(server.rtmpUrl('live', 'steady'), steadySrc);
    const steadyStarted = await server.events.waitFor('recording.started', (e) => e.streamId === 'steady', 20_000, 'steady recording');

    const started = Date.now();
    const burst = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', big, '-c', 'copy', '-f', 'flv', server.rtmpUrl('live', 'burst')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let burstErr = '';
    burst.stderr.on('data', (d) => (burstErr += d));
    const burstExit = await new Promise<number | null>((r) => burst.on('exit', (code) => r(code)));
    t.diagnostic(`burst push took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.equal(burstExit, 0, `the burst push ends cleanly: ${burstErr}`);
    assert.equal(server.proc.exitCode, null, 'the server is still running');

    const burstStarted = await server.events.waitFor('recording.started', (e) => e.streamId === 'burst', 5_000, 'burst recording');
    const steadyDone = await steady.done;
    assert.equal(steadyDone.code, 0, steadyDone.stderr);
    for (const [name, pushed] of [
      [String(burstStarted.name), (await ffprobe(big)).duration],
      [String(steadyStarted.name), (await ffprobe(steadySrc)).duration],
    ] as const) {
      const done = await server.events.waitFor('recording.completed', (e) => e.name === name, 120_000, `${name} completed`);
      assert.equal(done.recovered, false);
      const mp4 = path.join(server.dataDir, 'live', 'streams', `${name}.mp4`);
      const probed = await ffprobe(mp4);
      t.diagnostic(`${name}: ${probed.duration} s recorded of ${pushed} s pushed`);
      assert.ok(Math.abs(probed.duration - pushed) <= 0.5, `${name}: mp4 lasts ${probed.duration} s, pushed ${pushed} s`);
      assert.ok(await decodesCleanly(mp4), `${name}: mp4 decodes without errors`);
    }
    assert.ok(!server.logs.some((l) => l.level === 'fatal'), 'nothing fatal logged');
  } finally {
    await server.stop();
    server.cleanup();
  }
});
