/** Which stream ids are accepted: letters, digits, - _ . and at most 128 characters. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { streamIdProblem } from '../../src/config/stream-id.js';

test('stream ids: letters, digits, - _ . and at most 128', () => {
  for (const ok of ['cam1', 'a.b-c_d', 'X'.repeat(128), '0']) assert.equal(streamIdProblem(ok), null, ok);
  for (const bad of ['', 'X'.repeat(129), 'a b', 'a/b', '..', '.x', 'a?b', 'é', 'a%2f']) assert.notEqual(streamIdProblem(bad), null, bad);
});
