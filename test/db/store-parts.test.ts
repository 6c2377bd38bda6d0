/**
 * The catalog's parts on SQLite. A part of a recording in progress
 * creates the recording (in progress) and is queued on its own; the finished
 * recording replaces the provisional facts; the wall-clock index answers
 * overlap queries; the part backlog dates the oldest part not uploaded; a
 * deleted recording takes its parts along.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openSqliteStore } from '../../src/db/sqlite/index.js';
import type { RecordedPart } from '../../src/events/types.js';

const T0 = Date.parse('2026-11-22T18:50:03.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const part = (n: number): RecordedPart => ({
  part: n,
  name: `cam1_20261122T185003Z_p000${n}.mp4`,
  path: `/data/live/streams/cam1_20261122T185003Z_p000${n}.mp4`,
  size: 1000 * n,
  startedAt: iso(T0 + (n - 1) * 10_000),
  endedAt: iso(T0 + n * 10_000),
  durationSeconds: 10,
  offsetSeconds: (n - 1) * 10,
});
const facts = { recordingId: 'r1', app: 'live', streamId: 'cam1', protocol: 'rtmp' as const, name: 'cam1_20261122T185003Z', startedAt: iso(T0), endedAt: iso(T0), durationSeconds: 0, sizeBytes: 0, recovered: false };

test('parts: in progress, queued one by one, completed once, indexed by wall clock, deleted with the recording', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-parts-'));
  const store = openSqliteStore({ dataDir });
  try {
    const { catalog, queue } = store;
    for (const n of [1, 2]) {
      const p = part(n);
      await catalog.addPart(facts, p, { kind: 'mp4', name: p.name, localPath: p.path, size: p.size });
      await catalog.addPart(facts, p, { kind: 'mp4', name: p.name, localPath: p.path, size: p.size }); // announced twice: no change
      assert.equal(await queue.enqueue('r1', [p.name]), 1);
    }
    let r = (await catalog.getRecording('r1'))!;
    assert.equal(r.inProgress, true);
    assert.equal(r.endedAt, iso(T0 + 20_000), 'the end grows with the parts');
    assert.equal(r.durationSeconds, 20);
    assert.equal(r.sizeBytes, 3000);
    assert.deepEqual(r.parts!.map((p) => p.part), [1, 2]);

    // The oldest part not uploaded closed at T0 + 10 s.
    const backlog = await catalog.partBacklog();
    assert.equal(backlog.parts, 2);
    assert.equal(backlog.oldestEndedAt, iso(T0 + 10_000));
    const job = (await queue.claim('node', 60_000))!;
    assert.equal(job.file.name, part(1).name);
    await queue.complete(job.file.id, 'node', { bucket: 'b', key: `streams/${job.file.name}`, url: 'u', size: 1000, sha256: 'x', etag: 'e', verifiedBy: 'head' });
    assert.deepEqual(await catalog.partBacklog(), { parts: 1, uploaded: 1, oldestEndedAt: iso(T0 + 20_000) });

    // Completed: facts replaced, parts 1-2 left as they are, part 3 added.
    const all = [1, 2, 3].map(part);
    await catalog.addRecording({ ...facts, endedAt: iso(T0 + 30_000), durationSeconds: 30, sizeBytes: 6000, recovered: true }, all.map((p) => ({ kind: 'mp4' as const, name: p.name, localPath: p.path, size: p.size })), all);
    r = (await catalog.getRecording('r1'))!;
    assert.equal(r.inProgress, undefined);
    assert.equal(r.recovered, true);
    assert.equal(r.durationSeconds, 30);
    assert.deepEqual(r.files.map((f) => [f.name, f.state]), [[part(1).name, 'uploaded'], [part(2).name, 'queued'], [part(3).name, 'local']]);
    // Announced again after a restart: a finished recording is not changed.
    await catalog.addRecording({ ...facts, durationSeconds: 1, sizeBytes: 1 }, [], []);
    assert.equal((await catalog.getRecording('r1'))!.durationSeconds, 30);

    // The wall-clock index: overlap, not start.
    const between = await catalog.partsBetween('live', 'cam1', iso(T0 + 15_000), iso(T0 + 21_000));
    assert.deepEqual(between.map((p) => p.part), [2, 3]);
    assert.equal(between[0].localPath, part(2).path);
    assert.equal((await catalog.partsBetween('live', 'cam1', iso(T0 + 30_000), iso(T0 + 40_000))).length, 0, 'a part ending at from is not in');
    const overlapping = await catalog.listRecordings({ from: iso(T0 + 25_000), to: iso(T0 + 26_000) });
    assert.deepEqual(overlapping.map((x) => [x.recordingId, x.parts!.length]), [['r1', 3]]);
    assert.equal(await catalog.countRecordings({ from: iso(T0 + 31_000) }), 0);

    assert.equal(await catalog.deleteRecording('r1'), true);
    assert.deepEqual(await catalog.listParts('r1'), []);
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
