/**
 * Publishers that arrive together start their recorders without a storm of side processes: fluent-ffmpeg's
 * checks of ffmpeg's formats and encoders are answered once at server start, not by an `ffmpeg -formats` and an
 * `ffmpeg -encoders` per recorder that started before the first answer came back (64 publishers at once: 128 more
 * ffmpegs, recordings 46 s late on a 2-core machine). Every process the server starts is seen with strace.
 * And no recording start fsyncs on the event loop (its manifest is made durable in the thread pool): a synchronous
 * fsync waits for the journal that carries every other recording's writes, and the starts queued behind it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push } from '../helpers/media.js';

const N = 6;

test(`${N} publishers at once: one ffmpeg each, no capability checks spawned per recorder, no fsync on the event loop`, { timeout: 180_000 }, async (t) => {
  const src = await fixture({ seconds: 10, width: 640, height: 360, videoKbps: 600 });
  const server = await startServer({ events: true });
  const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'bc-burst-')), 'execve.log');
  const strace = spawn('strace', ['-f', '-qq', '-y', '-e', 'trace=execve,fsync,fdatasync', '-s', '64', '-o', out, '-p', String(server.proc.pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    // strace has attached once it traces the server's threads: give it a moment (its -p attach is synchronous).
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(strace.exitCode, null, 'strace runs');
    const pushes = Array.from({ length: N }, (_, i) => push(server.rtmpUrl('live', `burst${i}`), src));
    await Promise.all(Array.from({ length: N }, (_, i) => server.events.waitFor('recording.started', (e) => e.streamId === `burst${i}`, 60_000, `recording burst${i}`)));
    // recording.started comes before the recorder's spawn (fluent-ffmpeg prepares it asynchronously): the pushes
    // run to their end (10 s) so that every recorder has started and ended under strace.
    await Promise.all(pushes.map((p) => p.done));
    await Promise.all(Array.from({ length: N }, (_, i) => server.events.waitFor('recording.completed', (e) => e.streamId === `burst${i}`, 60_000, `recording burst${i} completed`)));
  } finally {
    strace.kill('SIGINT');
    await new Promise((r) => strace.once('exit', r));
    await server.stop();
  }
  const lines = readFileSync(out, 'utf8').split('\n');
  const execs = lines.filter((l) => /execve\(/.test(l) && !/ENOENT/.test(l));
  // strace -f prefixes each line with the thread id; the event loop's thread id is the process id.
  const loopSyncs = lines.filter((l) => new RegExp(`^${server.proc.pid}\\s+f(data)?sync\\(\\d+<[^>]*manifest\\.json`).test(l));
  assert.deepEqual(loopSyncs, [], 'no manifest fsync on the event loop');
  assert.ok(lines.some((l) => /f(data)?sync\(\d+<[^>]*manifest\.json/.test(l)), 'the manifests are fsynced (in the thread pool)');
  const checks = execs.filter((l) => /"-(formats|encoders)"/.test(l));
  const recorders = execs.filter((l) => /ffmpeg"/.test(l) && /"-i", "pipe:0"|pipe:/.test(l));
  t.diagnostic(`${execs.length} processes started: ${recorders.length} recorders, ${checks.length} capability checks`);
  assert.equal(checks.length, 0, `no ffmpeg -formats / -encoders per recorder:\n${checks.join('\n')}`);
  assert.ok(recorders.length >= N, `one recorder per publisher (${recorders.length}):\n${execs.join('\n')}`);
});
