/**
 * A recorder killed mid-stream gives its input back: the FLV stream the feed
 * opened for it is closed with it, so it neither buffers the rest of the
 * stream for nobody nor, once 8 MiB have piled up in it, holds the publisher
 * back (which would starve the restarted recorder and stall the encoder).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push, recorderPidWrapper, type Push } from '../helpers/media.js';

test('after its recorder is killed, a 6 Mbit/s publisher is not held back and the restarted recording has the rest', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bc-killed-'));
  const ffmpeg = recorderPidWrapper(dir);
  const src = await fixture({ seconds: 20, width: 1280, height: 720, videoKbps: 6000 });
  const server = await startServer({ events: true, config: { server: { ffmpegPath: ffmpeg.path } } });
  let p: Push | undefined;
  try {
    // 30 s in real time: after the kill at 4 s, 26 s (~19 MB) more, over twice what a reader buffers (8 MiB).
    const pushedAt = Date.now();
    p = push(server.rtmpUrl('live', 'killed'), src, { loop: true, seconds: 30 });
    const first = await server.events.waitFor('recording.started', () => true, 15_000, 'recording started');
    await new Promise((r) => setTimeout(r, 4000));
    process.kill(ffmpeg.recorderPids()[0], 'SIGKILL');
    const restarted = await server.events.waitFor('recording.started', (e) => e.name !== first.name, 30_000, 'the recording restarted');
    const restartedAt = Date.now();
    const done = await p.done;
    const endedAt = Date.now();
    assert.equal(done.code, 0, done.stderr);
    assert.ok(endedAt - pushedAt < 34_000, `the 30 s push took ${(endedAt - pushedAt) / 1000} s: it was never held for long`);
    const held = server.logs.filter((l) => l.msg === 'publisher held back while its recorder caught up');
    assert.deepEqual(held.map((l) => l.heldMs), [], 'no hold');
    const completed = await server.events.waitFor('recording.completed', (e) => e.name === restarted.name, 60_000, 'the second recording completed');
    // It starts with the cached GOP (from before the restart) and runs to the end of the push.
    const after = (endedAt - restartedAt) / 1000;
    // (Its duration as the server probed it: the file itself may be uploaded and gone already.)
    assert.ok(completed.durationSeconds >= after - 0.5, `the restarted recording lasts ${completed.durationSeconds} s; the push went on ${after.toFixed(1)} s after it started`);
  } finally {
    await p?.stop('SIGKILL'); // a held publisher would push forever
    await server.stop();
    server.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});
