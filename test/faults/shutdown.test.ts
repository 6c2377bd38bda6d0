/** SIGTERM during a push exits cleanly within 10 s with the recording finalized. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { startServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push, ffprobe, topLevelBoxes } from '../helpers/media.js';

test('SIGTERM during a push finalizes the recording and exits within 10 s', async () => {
  const src = await fixture({ seconds: 20 });
  const server = await startServer({ events: true });
  try {
    const p = push(server.rtmpUrl('live', 'term'), src);
    const started = await server.events.waitFor('recording.started', () => true, 15_000, 'recording started');
    await new Promise((r) => setTimeout(r, 6000));
    const t0 = Date.now();
    server.proc.kill('SIGTERM');
    const exit = await server.exited;
    const took = (Date.now() - t0) / 1000;
    assert.equal(exit.code, 0, 'clean exit');
    assert.ok(took < 10, `exited in ${took}s`);
    await p.stop('SIGKILL');
    assert.ok(server.logs.some((l) => l.msg === 'recording completed' && l.name === started.name), 'recording completed before exit');
    const mp4 = path.join(server.dataDir, 'live', 'streams', `${started.name}.mp4`);
    assert.ok(existsSync(mp4));
    const probed = await ffprobe(mp4);
    assert.ok(probed.duration >= 5, `recording lasts ${probed.duration}s`);
    const boxes = topLevelBoxes(mp4);
    assert.ok(boxes.indexOf('moov') < boxes.indexOf('mdat'));
    assert.deepEqual(readdirSync(path.join(server.dataDir, '.work')), []);
  } finally {
    await server.stop();
    server.cleanup();
  }
});

test('a publisher arriving during shutdown is refused', async () => {
  const src = await fixture({ seconds: 20 });
  const server = await startServer({ events: true });
  try {
    const p = push(server.rtmpUrl('live', 'busy'), src);
    await server.events.waitFor('recording.started', () => true, 15_000, 'recording started');
    server.proc.kill('SIGTERM');
    await server.waitForLog((l) => l.msg?.startsWith('shutting down') === true, 5000, 'shutting down');
    const late = push(server.rtmpUrl('live', 'late'), src, { seconds: 3 });
    const r = await late.done;
    assert.notEqual(r.code, 0, 'late publisher is not accepted');
    assert.ok(!server.logs.some((l) => l.msg === 'publish accepted' && l.streamId === 'late'));
    await server.exited;
    await p.stop('SIGKILL');
  } finally {
    await server.stop();
    server.cleanup();
  }
});
