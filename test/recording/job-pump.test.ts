/**
 * The pump that works the upload queue and the webhook outbox: bounded
 * concurrency, a look when a job ends or falls due, nothing before start,
 * stop aborts running jobs and claims nothing more.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobPump } from '../../src/queue/job-pump.js';
import { createLogger } from '../../src/log/logger.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function harness(jobs: number[], opts: { concurrency?: number; dueAt?: () => number | undefined; jobMs?: number } = {}) {
  const queue = [...jobs];
  const state = { running: 0, maxRunning: 0, done: [] as number[], aborted: [] as number[], claims: 0 };
  const pump = new JobPump<number>({
    name: 'test queue',
    concurrency: () => opts.concurrency ?? 2,
    claim: async () => {
      state.claims++;
      const due = opts.dueAt?.();
      if (due !== undefined && due > Date.now()) return undefined;
      return queue.shift();
    },
    run: async (job, ac) => {
      state.running++;
      state.maxRunning = Math.max(state.maxRunning, state.running);
      try {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, opts.jobMs ?? 30);
          ac.signal.addEventListener('abort', () => {
            clearTimeout(t);
            state.aborted.push(job);
            resolve();
          });
        });
        if (!ac.signal.aborted) state.done.push(job);
      } finally {
        state.running--;
      }
    },
    nextDueInMs: async () => {
      const due = opts.dueAt?.();
      return due === undefined ? undefined : due - Date.now();
    },
    pollMs: 5_000,
    log: createLogger('silent'),
  });
  return { pump, queue, state };
}

test('nothing is claimed before start; then every job runs, at most `concurrency` at once', async () => {
  const { pump, state } = harness([1, 2, 3, 4, 5, 6, 7], { concurrency: 3 });
  pump.wake();
  await sleep(50);
  assert.equal(state.claims, 0, 'a wake before start is ignored');
  pump.start();
  for (let i = 0; i < 100 && state.done.length < 7; i++) await sleep(20);
  assert.deepEqual(state.done.sort(), [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(state.maxRunning, 3);
  await pump.stop();
});

test('a job that falls due later is claimed when it does, without a wake', async () => {
  const at = Date.now() + 300;
  const { pump, state } = harness([1], { dueAt: () => at });
  pump.start();
  await sleep(100);
  assert.deepEqual(state.done, [], 'not due yet');
  for (let i = 0; i < 50 && state.done.length === 0; i++) await sleep(20);
  assert.deepEqual(state.done, [1]);
  assert.ok(Date.now() >= at);
  await pump.stop();
});

test('stop aborts running jobs, waits for them, and claims nothing more', async () => {
  const { pump, state, queue } = harness([1, 2, 3, 4], { concurrency: 2, jobMs: 10_000 });
  pump.start();
  for (let i = 0; i < 50 && state.running < 2; i++) await sleep(10);
  assert.equal(pump.active, 2);
  assert.equal(pump.stopping, false);
  await pump.stop();
  assert.equal(pump.stopping, true);
  assert.deepEqual(state.aborted.sort(), [1, 2]);
  assert.equal(state.running, 0);
  assert.equal(pump.active, 0);
  pump.wake();
  await sleep(50);
  assert.deepEqual(queue, [3, 4], 'nothing claimed after stop');
});
