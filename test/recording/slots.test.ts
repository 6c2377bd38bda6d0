/** Slots: at most N tasks at once, the rest in order; a failing task frees its slot. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Slots } from '../../src/queue/slots.js';

test('never more than the slots at once; waiting tasks start in order; a failure frees its slot', async () => {
  const slots = new Slots(2);
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const task = (i: number) => async () => {
    started.push(i);
    running++;
    most = Math.max(most, running);
    await new Promise((r) => setTimeout(r, 20 + (i % 3) * 10));
    running--;
    if (i === 3) throw new Error('task 3 failed');
    return i;
  };
  const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => slots.run(task(i))));
  assert.equal(most, 2);
  assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(results.map((r) => (r.status === 'fulfilled' ? r.value : 'failed')), [0, 1, 2, 'failed', 4, 5, 6, 7]);
  assert.deepEqual(slots.load, { active: 0, waiting: 0 });
  assert.throws(() => new Slots(0), RangeError);
});
