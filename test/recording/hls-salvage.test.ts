/**
 * Finalizing HLS that ffmpeg did not finish: a segment renamed into place but
 * not yet listed, and one still being written (`.ts.tmp`, cut mid-packet),
 * are kept and listed; what lies past a gap is dropped; with no playlist at
 * all one is written. The closed playlist plays to the end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/log/logger.js';
import { finalizeRecording } from '../../src/recording/finalizer.js';
import type { RecordingPaths } from '../../src/recording/paths.js';
import type { RecordingManifest } from '../../src/recording/manifest.js';
import { ffprobe } from '../helpers/media.js';
import { recordingFixture } from '../helpers/recording-fixture.js';

/** A recording with HLS only, its four 1 s segments written by ffmpeg; the caller then breaks it. */
function hlsRecording(dataDir: string): { m: RecordingManifest; p: RecordingPaths; seg: (n: number) => string } {
  const { m, p } = recordingFixture(dataDir, { startedAt: '2026-11-23T02:00:00.000Z', mp4: false, hls: true });
  execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-t', '4', '-i', 'testsrc2=size=320x240:rate=25', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25',
    '-f', 'hls', '-hls_time', '1', '-hls_list_size', '0', '-hls_playlist_type', 'event', '-hls_segment_filename', p.segmentPattern, p.playlist,
  ]);
  return { m, p, seg: (n) => path.join(p.streamsDir, `${p.segmentPrefix}${String(n).padStart(5, '0')}.ts`) };
}

const finalize = (m: RecordingManifest, p: RecordingPaths) => finalizeRecording(m, p, { ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe', log: createLogger('silent'), recovered: true });

test('an unlisted segment and a half-written one are kept and listed; past a gap nothing is kept', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bc-salvage-'));
  try {
    const { m, p, seg } = hlsRecording(dataDir);
    const full = (await ffprobe(p.playlist)).duration;
    // As a killed ffmpeg leaves it: the playlist lists two segments, no end tag; the third is on disk, the fourth half-written.
    const text = readFileSync(p.playlist, 'utf8');
    writeFileSync(p.playlist, text.slice(0, text.indexOf(path.basename(seg(1))) + path.basename(seg(1)).length + 1));
    renameSync(seg(3), `${seg(3)}.tmp`);
    truncateSync(`${seg(3)}.tmp`, statSync(`${seg(3)}.tmp`).size - 100);
    writeFileSync(seg(5), 'past a gap');

    const done = await finalize(m, p);
    const closed = readFileSync(p.playlist, 'utf8');
    const listed = closed.split('\n').filter((l) => l.endsWith('.ts'));
    assert.deepEqual(listed, [0, 1, 2, 3].map((n) => path.basename(seg(n))), closed);
    assert.match(closed.trim(), /#EXT-X-ENDLIST$/);
    assert.match(closed, /#EXT-X-PLAYLIST-TYPE:VOD/);
    assert.ok(!existsSync(seg(5)), 'the segment past the gap is gone');
    assert.deepEqual(readdirSync(p.streamsDir).filter((n) => n.endsWith('.tmp')), [], 'no temp file left');
    assert.equal(statSync(seg(3)).size % 188, 0, 'cut to whole TS packets');
    const played = (await ffprobe(p.playlist)).duration;
    assert.ok(played > full - 0.5 && played <= full + 0.05, `plays ${played} s of the ${full} s written`);
    assert.ok(done && Math.abs(done.durationSeconds - played) < 0.2, `announced ${done?.durationSeconds} s`);
    assert.deepEqual(done!.files.filter((f) => f.kind === 'hls-segment').map((f) => f.name), listed);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('killed before ffmpeg wrote the playlist: the segment being written becomes a playlist of its own', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bc-salvage-'));
  try {
    const { m, p, seg } = hlsRecording(dataDir);
    rmSync(p.playlist);
    for (const n of [1, 2, 3]) rmSync(seg(n));
    renameSync(seg(0), `${seg(0)}.tmp`);
    const done = await finalize(m, p);
    const closed = readFileSync(p.playlist, 'utf8');
    assert.deepEqual(closed.split('\n').filter((l) => l.endsWith('.ts')), [path.basename(seg(0))]);
    assert.match(closed, /^#EXTM3U\n/);
    assert.match(closed, /#EXT-X-TARGETDURATION:[1-9]/);
    const played = (await ffprobe(p.playlist)).duration;
    assert.ok(played > 0.5, `plays ${played} s`);
    assert.ok(done && done.durationSeconds > 0.5);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
