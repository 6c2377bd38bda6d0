/**
 * Password checks under a burst of logins: an attempt counts against the
 * throttle before its bcrypt check (so N guesses sent at once are not all
 * checked), checks run in worker threads (the event loop stays free), at most
 * `api.login.maxConcurrentChecks` at once, with a bounded queue.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { startServer, until } from '../helpers/server.js';
import { ADMIN_PASSWORD, ApiClient, adminEnv } from '../helpers/api.js';
import { hashPassword, passwordPool, verifyPassword } from '../../src/auth/passwords.js';

test('20 wrong guesses sent at once: only as many are checked as the limit allows, the rest refused unchecked', async () => {
  const server = await startServer({
    env: adminEnv(),
    config: { applications: [{ name: 'live', s3RecordingEnabled: false }], api: { login: { maxFailuresPerIp: 5, maxFailuresPerUser: 100, lockoutSeconds: 60 } } },
  });
  try {
    const guess = (i: number) => new ApiClient(server.httpUrl).post('/api/v1/auth/login', { username: 'admin', password: `guess-number-${i}` }, { headers: { 'x-forwarded-for': '198.51.100.7' } });
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => guess(i)));
    const statuses = answers.map((a) => a.status);
    assert.ok(statuses.every((s) => s === 401 || s === 429), `401 or 429 only: ${statuses.join(',')}`);
    const count = (msg: string) => server.logs.filter((l) => l.msg === msg).length;
    await until(() => count('login failed') + count('login refused: locked out') === 20, 5_000, 'a log line for every guess');
    const checked = count('login failed');
    assert.ok(checked <= 5, `at most 5 guesses checked (${checked} were)`);
    // Another address with the right password is not affected.
    const ok = await new ApiClient(server.httpUrl).post('/api/v1/auth/login', { username: 'admin', password: ADMIN_PASSWORD }, { headers: { 'x-forwarded-for': '198.51.100.8' } });
    assert.equal(ok.status, 200);
  } finally {
    await server.stop();
    server.cleanup();
  }
});

test('password checks run off the event loop, at most maxConcurrentChecks at once, the queue bounded', async (t) => {
  const hash = await hashPassword('the-right-password-0001');
  passwordPool.configure(2, 16);
  // The loop's active time (event-loop utilisation) is how long it was held, whatever else the machine runs;
  // the longest gap between 20 ms ticks is shown too, but that also counts time the OS gave other processes.
  const elu0 = performance.eventLoopUtilization();
  let last = performance.now();
  let worst = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 20);
  try {
    const before = passwordPool.completed;
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => verifyPassword(i === 0 ? 'the-right-password-0001' : `wrong-${i}`, hash)));
    const busy = results.filter((r) => r.status === 'rejected');
    assert.equal(busy.length, 2, '2 running + 16 queued; the 2 past the queue are refused');
    assert.ok(busy.every((r) => (r as PromiseRejectedResult).reason.code === 'login_busy' && (r as PromiseRejectedResult).reason.status === 503));
    assert.equal((results[0] as PromiseFulfilledResult<boolean>).value, true, 'the right password matches');
    assert.ok(results.slice(1, 18).every((r) => r.status === 'fulfilled' && r.value === false), 'wrong ones do not');
    assert.equal(passwordPool.completed - before, 18);
    const elu = performance.eventLoopUtilization(elu0);
    t.diagnostic(`18 bcrypt checks: event loop active ${elu.active.toFixed(0)} ms of ${(elu.active + elu.idle).toFixed(0)} ms; longest gap between 20 ms ticks ${worst.toFixed(0)} ms`);
    // 18 checks on the loop would hold it 1.8–5.4 s; under a loaded parallel suite the loop's own bookkeeping reached 161 ms.
    assert.ok(elu.active < 600, `the event loop was busy ${elu.active.toFixed(0)} ms in all (bcrypt on it would take 0.1–0.3 s a check)`);
  } finally {
    clearInterval(tick);
    await passwordPool.close();
  }
});
