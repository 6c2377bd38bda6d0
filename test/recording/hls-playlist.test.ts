/** Closing a recording's HLS playlist: VOD, only the segments on disk, ended. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closePlaylist, playlistDuration } from '../../src/recording/hls-playlist.js';

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
