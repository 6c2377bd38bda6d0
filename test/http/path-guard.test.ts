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

/** The guard as first written (split, decode twice): the fast paths must answer exactly as it does. */
function reference(rawPath: string): string | null {
  const control = /[\x00-\x1f\x7f]/;
  const encoded = /%(2f|5c|00)/i;
  if (rawPath.includes('\\') || control.test(rawPath)) return 'backslash or control character in path';
  if (encoded.test(rawPath)) return 'encoded slash, backslash or NUL in path';
  let decoded = rawPath;
  for (let i = 0; i < 2; i++) {
    try {
      decoded = decodeURIComponent(decoded);
    } catch {
      return 'malformed percent-encoding in path';
    }
    if (decoded.includes('\\') || control.test(decoded)) return 'backslash or control character in path';
    if (encoded.test(decoded)) return 'encoded slash, backslash or NUL in path';
    if (decoded.split('/').some((seg) => seg === '..' || seg === '.')) return 'dot segment in path';
  }
  return null;
}

test('the guard answers as the reference for 50,000 paths made of the characters that matter', () => {
  const alphabet = ['/', '/', '.', '.', 'a', '%', '2', '5', 'e', 'E', 'f', 'c', '0', '\\', '\n'];
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  for (let n = 0; n < 50_000; n++) {
    let p = '/';
    const len = next() % 12;
    for (let i = 0; i < len; i++) p += alphabet[next() % alphabet.length];
    assert.equal(pathProblem(p), reference(p), JSON.stringify(p));
  }
});
