/** Small pure pieces: stream ids, path guard, HLS playlist closing, names, bitrate. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { streamIdProblem } from '../../src/config/stream-id.js';
import { pathProblem } from '../../src/http/path-guard.js';
import { closePlaylist, playlistDuration } from '../../src/recording/hls-playlist.js';
import { uniqueRecordingName, utcStamp } from '../../src/recording/naming.js';
import { BitrateMeter } from '../../src/ingest/bitrate-meter.js';

test('stream ids: letters, digits, - _ . and at most 128', () => {
  for (const ok of ['cam1', 'a.b-c_d', 'X'.repeat(128), '0']) assert.equal(streamIdProblem(ok), null, ok);
  for (const bad of ['', 'X'.repeat(129), 'a b', 'a/b', '..', '.x', 'a?b', 'é', 'a%2f']) assert.notEqual(streamIdProblem(bad), null, bad);
});

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

test('closing a playlist makes it VOD, drops missing segments, ends it', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bc-hls-'));
  const file = path.join(dir, 'a.m3u8');
  writeFileSync(file, '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXTINF:2.0,\na_00000.ts\n#EXTINF:2.0,\na_00001.ts\n#EXTINF:1.5,\na_00002.ts\n');
  const listed = closePlaylist(file, (n) => n !== 'a_00002.ts');
  assert.deepEqual(listed, ['a_00000.ts', 'a_00001.ts']);
  const text = readFileSync(file, 'utf8');
  assert.match(text, /#EXT-X-PLAYLIST-TYPE:VOD/);
  assert.doesNotMatch(text, /EVENT/);
  assert.match(text.trim(), /#EXT-X-ENDLIST$/);
  assert.doesNotMatch(text, /1\.5/);
  assert.equal(playlistDuration(text), 4);
  assert.equal(closePlaylist(file, () => false), null);
});

test('recording names carry the stream id and UTC start, never reused', () => {
  const d = new Date('2026-11-22T18:50:03.123Z');
  assert.equal(utcStamp(d), '20261122T185003Z');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bc-names-'));
  assert.equal(uniqueRecordingName('cam', d, [dir], () => false), 'cam_20261122T185003Z');
  writeFileSync(path.join(dir, 'cam_20261122T185003Z.mp4'), '');
  assert.equal(uniqueRecordingName('cam', d, [dir], () => false), 'cam_20261122T185003Z-2');
  assert.equal(uniqueRecordingName('cam', d, [dir], (n) => n.endsWith('-2')), 'cam_20261122T185003Z-3');
});

test('bitrate meter averages over its window', () => {
  const m = new BitrateMeter(5);
  const t0 = 1_000_000_000;
  for (let s = 0; s < 5; s++) m.add(125_000, t0 + s * 1000);
  assert.equal(m.bitsPerSecond(t0 + 4500), 1_000_000);
  assert.equal(m.bitsPerSecond(t0 + 20_000), 0);
  assert.equal(m.bytes, 625_000);
});
