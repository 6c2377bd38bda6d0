/**
 * The server and its ffmpeg children SIGKILLed 10 s into a push leave,
 * after a restart, a finalized playable MP4 of at least 8 s, announced by
 * `recording.completed`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push, ffprobe, topLevelBoxes, decodesCleanly } from '../helpers/media.js';

test('a recording interrupted by SIGKILL is finalized at the next start', async () => {
  const src = await fixture({ seconds: 20 });
  const first = await startServer({ events: true });
  const p = push(first.rtmpUrl('live', 'crash'), src);
  const started = await first.events.waitFor('recording.started', () => true, 15_000, 'recording started');
  const name = String(started.name);
  await new Promise((r) => setTimeout(r, 10_000));
  first.killGroup('SIGKILL');
  const exit = await first.exited;
  assert.equal(exit.signal, 'SIGKILL');
  await p.stop('SIGKILL');
  const work = path.join(first.dataDir, '.work');
  assert.equal(readdirSync(work).length, 1, 'the interrupted recording left its work dir');
  assert.ok(!existsSync(path.join(first.dataDir, 'live', 'streams', `${name}.mp4`)), 'no final mp4 before recovery');

  const second = await startServer({ events: true, dataDir: first.dataDir });
  try {
    const done = await second.events.waitForRecording((r) => r.name === name && !r.inProgress, 30_000, 'recovered recording completed');
    assert.equal(done.recovered, true);
    const mp4 = path.join(second.dataDir, 'live', 'streams', `${name}.mp4`);
    const probed = await ffprobe(mp4);
    assert.ok(probed.duration >= 8, `recovered mp4 lasts ${probed.duration}s`);
    assert.ok(probed.duration <= 12, `recovered mp4 lasts ${probed.duration}s, not more than was pushed`);
    assert.deepEqual(probed.streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
    const boxes = topLevelBoxes(mp4);
    assert.ok(boxes.indexOf('moov') < boxes.indexOf('mdat'), 'recovered mp4 is faststart');
    assert.ok(await decodesCleanly(mp4), 'recovered mp4 decodes');
    const playlist = readFileSync(path.join(second.dataDir, 'live', 'streams', `${name}.m3u8`), 'utf8');
    assert.match(playlist, /#EXT-X-ENDLIST/);
    assert.match(playlist, /#EXT-X-PLAYLIST-TYPE:VOD/);
    assert.deepEqual(readdirSync(work), [], 'work dir removed once announced');
    // The recovered recording is served like any other.
    const res = await fetch(`${second.httpUrl}/live/streams/${name}.mp4`, { method: 'HEAD' });
    assert.equal(res.status, 200);
  } finally {
    await second.stop();
    second.cleanup();
  }
});

test('a work dir killed before its first manifest was in place is removed at the next start; one holding media is kept', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-early-kill-'));
  // A SIGKILL between `mkdir` and the manifest's rename: the dir holds a partial temp write, or nothing.
  const partial = path.join(dataDir, '.work', '5b0c7a52-1d1e-4c2e-9f47-2a1c3e5d7f90');
  const empty = path.join(dataDir, '.work', '0f6e2d41-8a3b-4c5d-9e7f-1a2b3c4d5e6f');
  const withMedia = path.join(dataDir, '.work', '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d');
  for (const d of [partial, empty, withMedia]) mkdirSync(d, { recursive: true });
  writeFileSync(path.join(partial, 'manifest.json.a1b2c3d4.tmp'), '{"version":1,"record');
  writeFileSync(path.join(withMedia, 'cam_20261207T000000Z.mp4'), Buffer.alloc(1024));
  const server = await startServer({ dataDir });
  try {
    await server.waitForLog((l) => l.msg === 'unreadable recording manifest, left in place', 20_000, 'the dir with media reported');
    assert.ok(!existsSync(partial), 'the partial manifest write is gone');
    assert.ok(!existsSync(empty), 'the empty work dir is gone');
    assert.ok(existsSync(path.join(withMedia, 'cam_20261207T000000Z.mp4')), 'a dir holding media is never removed');
    assert.equal(server.logs.filter((l) => l.msg === 'removed the work dir of a recording killed before it started').length, 2);
  } finally {
    await server.stop();
    server.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
