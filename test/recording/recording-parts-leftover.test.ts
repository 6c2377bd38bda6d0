/**
 * A finalization killed after writing a recording's only part under the recording's own name
 * (`<name>.mp4`), followed by a recovery that finds that part recorded as `<name>_p0001.mp4`
 * (it closed while live), left `<name>.mp4` on disk for good: no record or catalog row named it,
 * so nothing uploaded or deleted it (seen in fault-sigkill, seed 879750742).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/log/logger.js';
import { DataLayout } from '../../src/recording/layout.js';
import type { RecordingManifest } from '../../src/recording/manifest.js';
import { writeDurably } from '../../src/recording/manifest.js';
import { finalizeAllParts, partFileName, type PartRecord } from '../../src/recording/parts.js';
import { recordingPaths } from '../../src/recording/paths.js';

test('finalizing parts removes part 1 left under its other name by an interrupted finalization', async (t) => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-leftover-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const m: RecordingManifest = {
    version: 1,
    recordingId: 'rec-1',
    app: 'live',
    streamId: 'cam1',
    protocol: 'rtmp',
    name: 'cam1_20261204T175625Z',
    startedAt: '2026-12-04T17:56:25.000Z',
    liveContainer: 'fmp4',
    mp4: true,
    hls: false,
    previews: false,
    previewFormat: 'jpg',
    previewHeight: 480,
    segmentSeconds: 3600,
  };
  const p = recordingPaths(new DataLayout(dataDir), m);
  mkdirSync(p.workDir, { recursive: true });
  mkdirSync(p.streamsDir, { recursive: true });
  const kept = path.join(p.streamsDir, partFileName(m.name, 1));
  writeFileSync(kept, 'part one');
  writeFileSync(p.final, 'the same part under the single-part name, from the killed attempt');
  const rec: PartRecord = {
    part: { part: 1, name: path.basename(kept), path: kept, size: 8, startedAt: m.startedAt, endedAt: '2026-12-04T17:56:29.000Z', durationSeconds: 4, offsetSeconds: 0 },
  };
  writeDurably(p.workDir, 'part-0001.json', rec);

  const parts = await finalizeAllParts(m, p, { ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe', log: createLogger('silent') });
  assert.deepEqual(parts.map((r) => r.part.path), [kept]);
  assert.equal(existsSync(kept), true, 'the recorded part stays');
  assert.equal(existsSync(p.final), false, 'the leftover under the other name is gone');
});

/**
 * A finalization killed after the remux's rename (the live file removed) and before the part's record was
 * written left the part's only copy in the streams folder with nothing naming it: recovery finalized no part,
 * the recording went up with its HLS only and the MP4 stayed on disk for good (fault-sigkill, seed 888765216).
 */
for (const left of ['single', 'numbered'] as const) {
  test(`a part remuxed but not recorded before a kill is finalized by recovery (left under its ${left} name)`, async (t) => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-orphan-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const m: RecordingManifest = {
      version: 1,
      recordingId: 'rec-2',
      app: 'live',
      streamId: 'cam2',
      protocol: 'rtmp',
      name: 'cam2_20261204T190417Z',
      startedAt: '2026-12-04T19:04:17.000Z',
      liveContainer: 'fmp4',
      mp4: true,
      hls: false,
      previews: false,
      previewFormat: 'jpg',
      previewHeight: 480,
      segmentSeconds: 3600,
    };
    const p = recordingPaths(new DataLayout(dataDir), m);
    mkdirSync(p.workDir, { recursive: true });
    mkdirSync(p.streamsDir, { recursive: true });
    const orphan = left === 'single' ? p.final : path.join(p.streamsDir, partFileName(m.name, 1));
    const made = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10:duration=2', '-c:v', 'libx264', '-movflags', '+faststart', orphan]);
    assert.equal(made.status, 0, String(made.stderr));

    const parts = await finalizeAllParts(m, p, { ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe', log: createLogger('silent') });
    assert.deepEqual(parts.map((r) => r.part.path), [p.final], 'the only part, under the recording name');
    assert.ok(Math.abs(parts[0].part.durationSeconds - 2) < 0.2, `its length was probed: ${parts[0].part.durationSeconds} s`);
    assert.equal(existsSync(p.final), true);
    assert.equal(existsSync(path.join(p.streamsDir, partFileName(m.name, 1))), false, 'no second copy under the other name');
    // A second recovery finds the record and changes nothing.
    const again = await finalizeAllParts(m, p, { ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe', log: createLogger('silent') });
    assert.deepEqual(again, JSON.parse(JSON.stringify(parts)));
  });
}
