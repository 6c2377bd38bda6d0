/** The ingest bitrate meter (the streams API and /metrics): an average over its window. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BitrateMeter } from '../../src/ingest/bitrate-meter.js';

test('bitrate meter averages over its window', () => {
  const m = new BitrateMeter(5);
  const t0 = 1_000_000_000;
  for (let s = 0; s < 5; s++) m.add(125_000, t0 + s * 1000);
  assert.equal(m.bitsPerSecond(t0 + 4500), 1_000_000);
  assert.equal(m.bitsPerSecond(t0 + 20_000), 0);
  assert.equal(m.bytes, 625_000);
});
