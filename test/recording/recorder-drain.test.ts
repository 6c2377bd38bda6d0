/**
 * A recorder stopped while it runs behind its stream (a loaded machine: the
 * publisher has left, seconds of media are still queued for ffmpeg) drains all
 * of it before it is told to stop; only a recorder that stops reading gets
 * SIGINT after the grace. Real ffmpeg, its input read at real time (`-re`)
 * to stand for a recorder slower than the stream.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Recorder } from '../../src/recording/recorder.js';
import { createLogger } from '../../src/log/logger.js';
import { FlvInput } from '../../src/ingest/rtmp/flv-input.js';
import { fixture } from '../helpers/fixtures.js';
import { ffprobe } from '../helpers/media.js';

const duration = async (file: string): Promise<number> => (await ffprobe(file)).duration;

function recorder(dir: string, stream: PassThrough, extraInput: string[] = []): { rec: Recorder; target: string } {
  const target = path.join(dir, 'out.mp4');
  const rec = new Recorder({
    ffmpegPath: 'ffmpeg',
    plan: {
      inputOptions: [...extraInput, '-f', 'flv'],
      input: 'pipe:0',
      outputs: [{ target, options: ['-c', 'copy', '-movflags', '+empty_moov+default_base_moof', '-frag_duration', '500000', '-flush_packets', '1', '-f', 'mp4'] }],
    },
    feed: new FlvInput(stream, { hasVideo: true, hasAudio: true }),
    log: createLogger('silent'),
  });
  return { rec, target };
}

test('a recorder behind its stream when the publisher leaves records every second queued for it', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bc-drain-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const src = await fixture({ seconds: 8, width: 320, height: 240, videoKbps: 300 });
  const stream = new PassThrough({ highWaterMark: 8 * 1024 * 1024 });
  // The whole stream is queued at once, and ffmpeg reads it at real time: 8 s to drain.
  stream.write(readFileSync(src));
  const { rec, target } = recorder(dir, stream, ['-re']);
  rec.start();
  const t0 = Date.now();
  // The publisher leaves now; the old fixed grace (1.5 s here) SIGINTed ffmpeg with ~6 s still queued.
  const exit = await rec.stop(1500);
  assert.deepEqual(exit, { ok: true, requested: true });
  assert.ok(Date.now() - t0 >= 6000, `stopped after ${Date.now() - t0} ms: it did not wait for the queued input`);
  const d = await duration(target);
  assert.ok(Math.abs(d - 8) < 0.3, `recorded ${d} s of 8`);
});

test('a recorder that stops reading its input is told to stop after the grace, and its file is still playable', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bc-drain-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const src = await fixture({ seconds: 4, width: 320, height: 240, videoKbps: 300 });
  const stream = new PassThrough({ highWaterMark: 8 * 1024 * 1024 });
  const { rec, target } = recorder(dir, stream);
  rec.start();
  while (rec.pid === undefined) await new Promise((r) => setTimeout(r, 10));
  stream.write(readFileSync(src));
  // ffmpeg has written fragments of more than 3 s (a fixed wait was too short on a loaded machine).
  const written = async () => (existsSync(target) ? await duration(target).catch(() => 0) : 0);
  for (const until = Date.now() + 30_000; (await written()) <= 3.2; ) {
    assert.ok(Date.now() < until, 'ffmpeg wrote 3 s of fragments within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  process.kill(rec.pid, 'SIGSTOP'); // stops reading: what is queued now never drains
  stream.write(Buffer.alloc(4 * 1024 * 1024)); // more than the socket buffers hold
  setTimeout(() => process.kill(rec.pid!, 'SIGCONT'), 1500).unref(); // SIGINT (at 1 s) is taken once it runs again
  const t0 = Date.now();
  const exit = await rec.stop(1000);
  const waited = Date.now() - t0;
  assert.ok(waited < 6000, `stopped after ${waited} ms`);
  assert.equal(exit.requested, true);
  assert.ok((await duration(target)) > 3, 'the fragments written before it stalled are playable');
});
