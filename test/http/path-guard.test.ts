/** The path guard of every file-serving route: no encoding, dot segment or separator leads out of a folder. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pathProblem } from '../../src/http/path-guard.js';

test('path guard refuses every way out of a folder', () => {
  for (const ok of ['/live/streams/a.mp4', '/live/previews/cam.jpg', '/', '/play.html']) assert.equal(pathProblem(ok), null, ok);
  for (const bad of [
    '/live/streams/../../etc/passwd',
    '/live/streams/%2e%2e/x',
    '/live/streams/%2E%2E%2Fx',
    '/live/streams/..%2fx',
    '/live/streams/..%5cx',
    '/live/streams/a\\b',
    '/live/streams/a%00.mp4',
    '/live/streams/%252e%252e/x',
    '/live/streams/%zz',
    '/live/./streams/a.mp4',
  ]) {
    assert.notEqual(pathProblem(bad), null, bad);
  }
});
