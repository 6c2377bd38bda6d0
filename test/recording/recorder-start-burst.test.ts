/**
 * Publishers that arrive together start their recorders without a storm of side processes: no `ffmpeg -formats`
 * and `ffmpeg -encoders` per recorder (fluent-ffmpeg asked them before each run until one answer came back: 64
 * publishers at once, 128 more ffmpegs, recordings 46 s late on a 2-core machine), and the recorders are started
 * by the spawn helper, as are the remuxes and probes that finalize them, not forked from the server. Every process the
 * server and its helper start is seen with strace.
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

/** The spawn helper the server forked at startup (process/spawner.ts). */
function spawnHelperOf(pid: number): number {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  const helper = children.find((c) => {
    try {
      return readFileSync(`/proc/${c}/cmdline`, 'utf8').includes('spawn-helper.mjs');
    } catch {
      return false;
    }
  });
  assert.ok(helper, `the server (${pid}) runs a spawn helper among its children ${children.join(' ')}`);
  return helper;
}

test(`${N} publishers at once: one ffmpeg each, no capability checks spawned per recorder, no fsync on the event loop`, { timeout: 180_000 }, async (t) => {
  const src = await fixture({ seconds: 10, width: 640, height: 360, videoKbps: 600 });
  const server = await startServer({ events: true });
  const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'bc-burst-')), 'execve.log');
  const helper = spawnHelperOf(server.proc.pid!);
  const strace = spawn('strace', ['-f', '-qq', '-y', '-e', 'trace=execve,fsync,fdatasync,clone,clone3,fork,vfork', '-s', '64', '-o', out, '-p', String(server.proc.pid), '-p', String(helper)], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    // strace has attached once it traces the server's threads: give it a moment (its -p attach is synchronous).
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(strace.exitCode, null, 'strace runs');
    const pushes = Array.from({ length: N }, (_, i) => push(server.rtmpUrl('live', `burst${i}`), src));
    await Promise.all(Array.from({ length: N }, (_, i) => server.events.waitFor('recording.started', (e) => e.streamId === `burst${i}`, 60_000, `recording burst${i}`)));
    // recording.started comes before the recorder's spawn (the helper starts it asynchronously): the pushes
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
  // Each traced line starts with the pid that made the call; a fork is a clone (without CLONE_THREAD) returning the
  // child's pid. Every recorder, remux and ffprobe was forked by the helper, none by the server.
  // A call another traced thread interrupts is printed in two lines ("<unfinished ...>", then "<... resumed>"): joined.
  const forkedBy = new Map<string, string>();
  const unfinished = new Map<string, string>();
  for (const raw of lines) {
    let l = raw;
    const cut = /^(\d+)\s+(.*) <unfinished \.\.\.>$/.exec(l);
    if (cut) {
      unfinished.set(cut[1], cut[2]);
      continue;
    }
    const resumed = /^(\d+)\s+<\.\.\. \S+ resumed>(.*)$/.exec(l);
    if (resumed && unfinished.has(resumed[1])) {
      l = `${resumed[1]}  ${unfinished.get(resumed[1])}${resumed[2]}`;
      unfinished.delete(resumed[1]);
    }
    const m = /^(\d+)\s+(?:clone3?|v?fork)\((.*)\)\s+=\s+(\d+)$/.exec(l);
    if (m && !/CLONE_THREAD/.test(m[2])) forkedBy.set(m[3], m[1]);
  }
  const parentOf = (l: string) => forkedBy.get(/^(\d+)/.exec(l)![1]);
  assert.deepEqual(recorders.map(parentOf), recorders.map(() => String(helper)), 'each recorder forked by the spawn helper');
  const probes = execs.filter((l) => /ffprobe"/.test(l));
  const remuxes = execs.filter((l) => /ffmpeg"/.test(l) && /"-c", "copy", "-movflags", "\+faststart"/.test(l));
  assert.ok(probes.length >= N && remuxes.length >= N, `a remux and a probe per recording (${remuxes.length}, ${probes.length})`);
  assert.deepEqual([...probes, ...remuxes].map(parentOf), [...probes, ...remuxes].map(() => String(helper)), 'the finalization runs forked by the spawn helper');
  t.diagnostic(`${execs.length} processes started: ${recorders.length} recorders, ${remuxes.length} remuxes, ${probes.length} probes, ${checks.length} capability checks`);
  assert.equal(checks.length, 0, `no ffmpeg -formats / -encoders per recorder:\n${checks.join('\n')}`);
  assert.ok(recorders.length >= N, `one recorder per publisher (${recorders.length}):\n${execs.join('\n')}`);
});
