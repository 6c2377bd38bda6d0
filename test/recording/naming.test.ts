/** Recording names: the stream id and the UTC start, never reused. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { uniqueRecordingName, utcStamp } from '../../src/recording/naming.js';

test('recording names carry the stream id and UTC start, never reused', () => {
  const d = new Date('2026-11-22T18:50:03.123Z');
  assert.equal(utcStamp(d), '20261122T185003Z');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bc-names-'));
  assert.equal(uniqueRecordingName('cam', d, [dir], () => false), 'cam_20261122T185003Z');
  writeFileSync(path.join(dir, 'cam_20261122T185003Z.mp4'), '');
  assert.equal(uniqueRecordingName('cam', d, [dir], () => false), 'cam_20261122T185003Z-2');
  assert.equal(uniqueRecordingName('cam', d, [dir], (n) => n.endsWith('-2')), 'cam_20261122T185003Z-3');
});
