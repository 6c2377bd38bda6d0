/**
 * The part and live-HLS watchers look at their file with one stat per tick and read it only when it changed:
 * nothing is missed because of that (a part whose successor opens later, a listener that fails once), and an
 * unchanged file is not read again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { syncBuiltinESMExports } from 'node:module';
import { PartWatcher } from '../../src/recording/part-watcher.js';
import { HlsWatcher } from '../../src/recording/hls-watcher.js';
import type { RecordingManifest } from '../../src/recording/manifest.js';
import type { RecordingPaths } from '../../src/recording/paths.js';
import type { PartRecord } from '../../src/recording/parts.js';
import { createLogger } from '../../src/log/logger.js';

const log = createLogger('silent');

function fixture(): { m: RecordingManifest; p: RecordingPaths } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bc-watch-'));
  const workDir = path.join(dir, 'work');
  const streamsDir = path.join(dir, 'streams');
  mkdirSync(workDir);
  mkdirSync(streamsDir);
  const m = { recordingId: 'r1', app: 'live', streamId: 'cam1', protocol: 'rtmp', name: 'cam1_x', startedAt: new Date().toISOString() } as RecordingManifest;
  const p = { workDir, streamsDir, partList: path.join(workDir, 'parts.csv'), playlist: path.join(streamsDir, 'cam1_x.m3u8') } as RecordingPaths;
  return { m, p };
}

const until = async (what: string, ok: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) assert.fail(`timed out waiting: ${what}`);
    await sleep(50);
  }
};

test('a closed part is announced once its successor opens, even when the list did not change meanwhile', async () => {
  const { m, p } = fixture();
  const finalized: number[] = [];
  let failOnce = true;
  const w = new PartWatcher({
    manifest: m,
    paths: p,
    log,
    finalize: async (n) => {
      finalized.push(n);
      return { part: { n } } as unknown as PartRecord;
    },
    announce: async (rec) => {
      // The first announcement of part 2 fails (a listener failed): it must be announced again, list unchanged.
      if ((rec.part as unknown as { n: number }).n === 2 && failOnce) {
        failOnce = false;
        return false;
      }
      return true;
    },
  });
  const reads: string[] = [];
  const origRead = fs.readFileSync;
  w.start();
  try {
    writeFileSync(p.partList, 'cam1_x_p0001.fmp4,0.000,10.000\n');
    await sleep(700);
    assert.equal(finalized.length, 0, 'part 1 is not taken before ffmpeg opened part 2');
    // ffmpeg opens part 2: its live file appears, the list stays as it was.
    writeFileSync(path.join(p.workDir, 'cam1_x_p0002.fmp4'), '');
    await until('part 1 finalized', () => finalized.includes(1));
    appendFileSync(p.partList, 'cam1_x_p0002.fmp4,10.000,20.000\n');
    writeFileSync(path.join(p.workDir, 'cam1_x_p0003.fmp4'), '');
    await until('part 2 announced after its first announcement failed', () => finalized.filter((n) => n === 2).length === 2);
    // Settled: the unchanged list is not read again.
    (fs as { readFileSync: typeof fs.readFileSync }).readFileSync = ((...a: Parameters<typeof fs.readFileSync>) => {
      reads.push(String(a[0]));
      return origRead(...a);
    }) as typeof fs.readFileSync;
    syncBuiltinESMExports(); // the watcher's `import { readFileSync }` sees the counting one
    await sleep(700);
    assert.deepEqual(finalized, [1, 2, 2]);
  } finally {
    (fs as { readFileSync: typeof fs.readFileSync }).readFileSync = origRead;
    syncBuiltinESMExports();
    await w.stop();
  }
  assert.deepEqual(reads.filter((r) => r.endsWith('parts.csv')), [], 'an unchanged part list is not read again');
});

test('live HLS: every new listing is announced; an announcement that failed is tried again with the playlist unchanged', async () => {
  const { m, p } = fixture();
  const seen: string[][] = [];
  let fail = true;
  const w = new HlsWatcher({
    manifest: m,
    paths: p,
    log,
    announce: async (e) => {
      seen.push(e.segments.map((s) => s.name));
      if (fail) {
        fail = false;
        return false;
      }
      return true;
    },
  });
  w.start();
  try {
    const seg = (n: number) => `cam1_x_${String(n).padStart(5, '0')}.ts`;
    writeFileSync(path.join(p.streamsDir, seg(0)), 'x');
    writeFileSync(p.playlist, `#EXTM3U\n#EXTINF:2.0,\n${seg(0)}\n`);
    await until('first listing announced twice (failed once)', () => seen.length === 2);
    writeFileSync(path.join(p.streamsDir, seg(1)), 'x');
    writeFileSync(p.playlist, `#EXTM3U\n#EXTINF:2.0,\n${seg(0)}\n#EXTINF:2.0,\n${seg(1)}\n`);
    await until('second listing announced', () => seen.length === 3);
    await sleep(1200);
    assert.deepEqual(seen, [[seg(0)], [seg(0)], [seg(0), seg(1)]]);
  } finally {
    await w.stop();
  }
});
