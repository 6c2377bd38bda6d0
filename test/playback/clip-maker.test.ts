/**
 * Time-range clips are cut from parts that move while a stream runs: a part's
 * upload completes and its local copy is deleted between the catalog read and
 * ffmpeg opening the file. The clip must then be read again from the catalog
 * (the part is now in the bucket), never come out shorter (seen in CI: a 30 s
 * recording played back as 20 s).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createLogger } from '../../src/log/logger.js';
import { ClipMaker } from '../../src/playback/clip-maker.js';
import { cutsOf } from '../../src/playback/spans.js';
import type { PartLocation } from '../../src/db/types.js';
import { ffprobe, decodesCleanly } from '../helpers/media.js';

const run = promisify(execFile);

async function part(file: string, seconds: number): Promise<void> {
  await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=320x180:rate=25:duration=${seconds}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`, '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-c:a', 'aac', '-shortest', '-movflags', '+faststart', file]);
}

function location(n: number, startMs: number, seconds: number, where: Partial<PartLocation>): PartLocation {
  return {
    part: n, name: `cam_p000${n}.mp4`, size: 1, recordingId: 'r1', app: 'live', streamId: 'cam',
    startedAt: new Date(startMs).toISOString(), endedAt: new Date(startMs + seconds * 1000).toISOString(),
    durationSeconds: seconds, offsetSeconds: 0, state: 'queued', ...where,
  };
}

test('a part uploaded and deleted locally after the catalog read is taken from the bucket: the clip is whole', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bc-clip-'));
  const clips = new ClipMaker({
    ffmpegPath: 'ffmpeg',
    dir: path.join(dir, '.playback'),
    // A filesystem target: the object's URL is the absolute path of its file.
    reader: { readUrl: async (_app, bucket, key) => path.join(dir, bucket, key) },
    log: createLogger('silent'),
  });
  clips.start();
  try {
    const first = path.join(dir, 'p1.mp4');
    await part(first, 4);
    await run('mkdir', ['-p', path.join(dir, 'bucket')]);
    await part(path.join(dir, 'bucket', 'p2.mp4'), 4);
    const t0 = Date.parse('2026-12-05T10:00:00Z');
    let reads = 0;
    const readCuts = async () => {
      reads++;
      // First read: part 2 still queued with a local path that its upload has just deleted. Later reads: uploaded.
      const second = reads === 1
        ? location(2, t0 + 4000, 4, { localPath: path.join(dir, 'gone', 'p2.mp4'), state: 'uploading' })
        : location(2, t0 + 4000, 4, { state: 'uploaded', bucket: 'bucket', key: 'p2.mp4' });
      return cutsOf([location(1, t0, 4, { localPath: first, state: 'local' }), second], t0, t0 + 8000);
    };
    const clip = await clips.clip('span', 'live', readCuts);
    assert.ok(reads >= 2, `the catalog was read ${reads} time(s)`);
    const probed = await ffprobe(clip);
    assert.ok(Math.abs(probed.duration - 8) <= 0.3, `the clip lasts ${probed.duration} s, recorded 8 s`);
    assert.ok(await decodesCleanly(clip), 'the clip decodes cleanly');
  } finally {
    clips.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a part that stays neither local nor uploaded is left out after a few reads, and a span with none is a 404', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bc-clip-'));
  const clips = new ClipMaker({ ffmpegPath: 'ffmpeg', dir: path.join(dir, '.playback'), reader: { readUrl: async () => '/nonexistent' }, log: createLogger('silent') });
  clips.start();
  try {
    const first = path.join(dir, 'p1.mp4');
    await part(first, 3);
    const t0 = Date.parse('2026-12-05T10:00:00Z');
    let reads = 0;
    const clip = await clips.clip('span', 'live', async () => {
      reads++;
      return cutsOf([location(1, t0, 3, { localPath: first, state: 'local' }), location(2, t0 + 3000, 3, { state: 'failed' })], t0, t0 + 6000);
    });
    assert.equal(reads, 4, 'read the catalog again before leaving a part out');
    assert.ok(Math.abs((await ffprobe(clip)).duration - 3) <= 0.3);
    await assert.rejects(
      clips.clip('other', 'live', async () => cutsOf([location(2, t0 + 3000, 3, { state: 'failed' })], t0, t0 + 6000)),
      (err: Error & { code?: string }) => err.code === 'recording_unavailable',
    );
  } finally {
    clips.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a local copy deleted while ffmpeg assembles the clip (its upload completed) still ends up whole in the clip', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bc-clip-'));
  const clips = new ClipMaker({ ffmpegPath: 'ffmpeg', dir: path.join(dir, '.playback'), reader: { readUrl: async () => '/nonexistent' }, log: createLogger('silent') });
  clips.start();
  try {
    const [first, second] = [path.join(dir, 'p1.mp4'), path.join(dir, 'p2.mp4')];
    await part(first, 4);
    await part(second, 4);
    const t0 = Date.parse('2026-12-05T10:00:00Z');
    const clip = await clips.clip('span', 'live', async () => {
      // The upload of part 2 completes and deletes its local copy as the clip starts (ffmpeg opens part 2 only after part 1).
      setImmediate(() => rmSync(second));
      return cutsOf([location(1, t0, 4, { localPath: first, state: 'local' }), location(2, t0 + 4000, 4, { localPath: second, state: 'uploading' })], t0, t0 + 8000);
    });
    assert.ok(!existsSync(second), 'part 2 was deleted during the clip');
    const probed = await ffprobe(clip);
    assert.ok(Math.abs(probed.duration - 8) <= 0.3, `the clip lasts ${probed.duration} s, recorded 8 s`);
  } finally {
    clips.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
