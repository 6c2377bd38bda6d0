/**
 * The spawn helper starts the recorders' ffmpeg so the server never forks itself on its event loop (a fork of a
 * large process costs it tens of ms each): the child's stdin comes back as a socket, its exit with its stderr's
 * tail; a dead helper neither loses a running child's media nor leaves its exit unreported; an idle helper does
 * not keep the process alive.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { RunError, Spawner } from '../../src/process/spawner.js';
import { probe } from '../../src/recording/probe.js';
import { Recorder } from '../../src/recording/recorder.js';
import { createLogger } from '../../src/log/logger.js';
import { FlvInput } from '../../src/ingest/rtmp/flv-input.js';
import { fixture } from '../helpers/fixtures.js';
import { createReadStream } from 'node:fs';
import { PassThrough } from 'node:stream';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

const parentOf = (pid: number): number => Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

test('a child gets its stdin from this process and reports its exit code with the tail of its stderr', async (t) => {
  const s = new Spawner();
  t.after(() => s.close());
  const child = s.spawn('sh', ['-c', 'cat >&2; echo last words >&2; exit 3'], { stdin: true });
  await child.spawned;
  assert.ok(child.pid && child.stdin, 'started, with a stdin');
  assert.notEqual(parentOf(child.pid), process.pid, 'the child is not forked from this process');
  child.stdin.end('line one\nline two\n');
  const exit = await child.exited;
  assert.equal(exit.code, 3);
  assert.deepEqual(exit.tail, ['line one', 'line two', 'last words']);
  assert.equal(exit.error, undefined);
});

test('a binary that does not exist is reported, not thrown', async (t) => {
  const s = new Spawner();
  t.after(() => s.close());
  const child = s.spawn('/nonexistent/ffmpeg', ['-version'], { stdin: true });
  await assert.rejects(child.spawned, /ENOENT/);
  const exit = await child.exited;
  assert.match(exit.error ?? '', /ENOENT/);
  // The helper is still there for the next one.
  const ok = s.spawn('true', []);
  assert.equal((await ok.exited).code, 0);
});

test('signals reach the child through the helper', async (t) => {
  const s = new Spawner();
  t.after(() => s.close());
  const child = s.spawn('sleep', ['30']);
  await child.spawned;
  child.kill('SIGINT');
  const exit = await child.exited;
  assert.equal(exit.signal, 'SIGINT');
});

test('a helper killed under a running child: the child gets end-of-input and finishes, its exit is reported, the next spawn works', async (t) => {
  const s = new Spawner();
  t.after(() => s.close());
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bc-spawn-'));
  const out = path.join(dir, 'out.txt');
  // Copies stdin to a file and exits at its end: what a recorder does with the stream.
  const child = s.spawn('sh', ['-c', `cat > ${out}`], { stdin: true });
  await child.spawned;
  child.stdin!.write('before the helper died\n');
  const helperPid = parentOf(child.pid!);
  process.kill(helperPid, 'SIGKILL');
  const exit = await child.exited;
  assert.match(exit.error ?? '', /spawn helper exited/);
  assert.equal(readFileSync(out, 'utf8'), 'before the helper died\n', 'what was written reached the child');
  // Waits for its input, so /proc still has it when its parent is read.
  const next = s.spawn('sh', ['-c', 'read line; exit 7'], { stdin: true });
  await next.spawned;
  assert.notEqual(parentOf(next.pid!), helperPid, 'a new helper');
  next.stdin!.end('go\n');
  assert.equal((await next.exited).code, 7);
});

test('an idle helper does not keep the process alive; a busy one does until its child exits', () => {
  const script = `
    import { Spawner } from './src/process/spawner.ts';
    const s = new Spawner();
    s.start();
    const c = s.spawn('sleep', ['1']);
    c.exited.then((e) => console.log('child exited', e.code));
  `;
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /child exited 0/);
  assert.ok(Date.now() - t0 < 15_000, 'exited on its own');
});

test('a recorder runs from the helper: ffmpeg is not this process`s child and records the whole feed', async (t) => {
  const s = new Spawner();
  t.after(() => s.close());
  const src = await fixture({ seconds: 4, width: 320, height: 240, videoKbps: 300 });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bc-rec-'));
  const target = path.join(dir, 'out.mp4');
  const stream = new PassThrough();
  createReadStream(src).pipe(stream);
  const feed = new FlvInput(stream, { hasVideo: true, hasAudio: true });
  const rec = new Recorder({
    ffmpegPath: 'ffmpeg',
    plan: { inputOptions: ['-f', 'flv'], input: 'pipe:0', outputs: [{ target, options: ['-c', 'copy', '-f', 'mp4'] }] },
    feed,
    log: createLogger('silent'),
    spawner: s,
  });
  rec.start();
  while (rec.pid === undefined) await new Promise((r) => setTimeout(r, 10));
  assert.notEqual(parentOf(rec.pid), process.pid);
  const exit = await rec.exited;
  assert.deepEqual(exit, { ok: true, requested: false });
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', target]);
  assert.ok(Math.abs(Number(stdout) - 4) < 0.2, `duration ${stdout}`);
});

test('a recorder stopped early writes its trailers (SIGINT after the grace) and counts as a clean stop', async (t) => {
  const s = new Spawner();
  t.after(() => s.close());
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bc-rec-'));
  const target = path.join(dir, 'out.mp4');
  // A feed that never ends by itself: stop() ends it, so ffmpeg sees end-of-input.
  const stream = new PassThrough();
  const src = await fixture({ seconds: 4, width: 320, height: 240, videoKbps: 300 });
  stream.write(readFileSync(src));
  const rec = new Recorder({
    ffmpegPath: 'ffmpeg',
    plan: { inputOptions: ['-f', 'flv'], input: 'pipe:0', outputs: [{ target, options: ['-c', 'copy', '-f', 'mp4'] }] },
    feed: new FlvInput(stream, { hasVideo: true, hasAudio: true }),
    log: createLogger('silent'),
    spawner: s,
  });
  rec.start();
  const exit = await rec.stop(2000);
  assert.deepEqual(exit, { ok: true, requested: true });
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', target]);
  assert.ok(Number(stdout) > 3.5, `duration ${stdout}`);
});

test('run: what a short process printed, or an execFile-shaped error with its stderr', async (t) => {
  const s = new Spawner();
  t.after(() => s.close());
  assert.deepEqual(await s.run('sh', ['-c', 'echo out; echo err >&2']), { stdout: 'out\n', stderr: 'err\n' });
  const failed = await s.run('sh', ['-c', 'echo No space left on device >&2; exit 1']).catch((e: unknown) => e);
  assert.ok(failed instanceof RunError);
  assert.equal(failed.code, 1);
  assert.match(failed.message, /^Command failed: sh -c .*\nNo space left on device/s, 'the disk-full check reads the message');
  const missing = await s.run('/nonexistent/ffprobe', []).catch((e: unknown) => e);
  assert.ok(missing instanceof RunError);
  assert.equal(missing.code, 'ENOENT');
  // Output past maxBuffer is dropped, not buffered without bound.
  const big = await s.run('sh', ['-c', 'head -c 100000 /dev/zero'], { maxBuffer: 1000 });
  assert.equal(big.stdout.length, 1000);
});

test('probe runs ffprobe from the helper and reads its answer; a file that is not media is an error', async () => {
  const src = await fixture({ seconds: 4, width: 320, height: 240, videoKbps: 300 });
  const r = await probe('ffprobe', src);
  assert.ok(Math.abs(r.durationSeconds - 4) < 0.2, `duration ${r.durationSeconds}`);
  assert.deepEqual(r.video, { codec: 'h264', width: 320, height: 240, fps: 30 });
  assert.equal(r.audio?.codec, 'aac');
  assert.ok(r.audio?.sampleRate && r.audio.channels);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bc-probe-'));
  const junk = path.join(dir, 'junk.mp4');
  (await import('node:fs')).writeFileSync(junk, 'not media');
  await assert.rejects(probe('ffprobe', junk), /Command failed: ffprobe/);
});
