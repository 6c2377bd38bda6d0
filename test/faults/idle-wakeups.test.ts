/**
 * An idle server sleeps: its event loop wakes a few dozen times a second, not hundreds. Each wakeup is a timer,
 * and each costs the process CPU whether or not anything happens (on a VM the most of a short wakeup is the
 * hypervisor's): prom-client's loop monitor sampled every 10 ms and the health monitor every 20 ms, 150 of an idle
 * server's ~260 wakeups a second. Counted with strace on the event loop's thread (its tid is the pid).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from '../helpers/server.js';

const SECONDS = 4;

test('an idle server wakes its event loop fewer than 80 times a second', async (t) => {
  const server = await startServer({ config: { applications: [{ name: 'live' }] } });
  t.after(() => server.stop());
  // Startup's own work (the first scans, the spawn helper) is over well before this.
  await new Promise((r) => setTimeout(r, 3000));
  const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'bc-wake-')), 'strace.txt');
  const pid = server.proc.pid!;
  const strace = spawn('strace', ['-f', '-qq', '-e', 'trace=epoll_wait,epoll_pwait,epoll_pwait2', '-o', out, '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(strace.exitCode, null, 'strace runs');
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  strace.kill('SIGINT');
  await new Promise((r) => strace.once('exit', r));
  const seconds = (Date.now() - t0) / 1000;
  // A wakeup is a wait that returned after blocking; libuv's follow-up polls with timeout 0 are not sleeps.
  // The timeout is printed when the call returns (`…, 1024, <timeout>, NULL, 8) = n`, resumed or not).
  const waits = readFileSync(out, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith(`${pid} `) && /, (?:-1|[1-9]\d*), NULL, 8\) = /.test(l));
  const perSecond = waits.length / seconds;
  t.diagnostic(`${waits.length} blocking waits in ${seconds.toFixed(1)} s: ${perSecond.toFixed(0)} a second`);
  assert.ok(waits.length > 0, 'the trace saw the event loop');
  assert.ok(perSecond < 80, `${perSecond.toFixed(0)} wakeups a second`);
});
