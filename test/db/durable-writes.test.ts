/**
 * SQLite commits do not fsync on the event loop (under heavy disk writes each
 * such fsync stalled RTMP reading long enough to lose media), yet nothing is
 * destroyed on the strength of a row that a power cut could take back: the WAL
 * is fsynced in the thread pool (`Store.durable`) before a local copy is
 * deleted after its upload and before a recording's work dir goes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../helpers/server.js';
import { appOf, plantRecording, startStorage } from '../helpers/storage.js';

const run = promisify(execFile);

test('commits do not fsync on the main thread; durable() fsyncs the WAL from the thread pool', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bc-durable-'));
  try {
    // One script, run under strace: 50 commits, a marker, then durable().
    const script = path.join(dir, 'writes.mts');
    writeFileSync(
      script,
      [
        `import { openSync } from 'node:fs';`,
        `import { openSqliteStore } from ${JSON.stringify(path.join(ROOT, 'src/db/sqlite/index.ts'))};`,
        `const store = openSqliteStore({ dataDir: ${JSON.stringify(dir)} });`,
        `const at = new Date().toISOString();`,
        // Markers in the trace: the commits start, the commits are done.
        `try { openSync('/nonexistent-commits-start'); } catch {}`,
        `for (let i = 0; i < 50; i++) {`,
        `  const r = { recordingId: 'r' + i, app: 'live', streamId: 'cam', name: 'cam_' + i, protocol: 'rtmp', startedAt: at, endedAt: at, durationSeconds: 1, sizeBytes: 1, recovered: false };`,
        `  await store.catalog.addRecording(r, [{ kind: 'mp4', name: 'cam_' + i + '.mp4', localPath: '/tmp/cam_' + i + '.mp4', size: 1 }]);`,
        `}`,
        `try { openSync('/nonexistent-commits-done'); } catch {}`,
        `await store.durable();`,
        `await store.close();`,
      ].join('\n'),
    );
    const log = path.join(dir, 'strace.log');
    await run('strace', ['-f', '-o', log, '-e', 'trace=fsync,fdatasync,openat', process.execPath, '--import', 'tsx', script], { cwd: ROOT });
    const lines = readFileSync(log, 'utf8').split('\n');
    const main = Number(/^(\d+)/.exec(lines[0])?.[1]);
    const start = lines.findIndex((l) => l.includes('/nonexistent-commits-start'));
    const marker = lines.findIndex((l) => l.includes('/nonexistent-commits-done'));
    assert.ok(start > 0 && marker > start, 'the markers were traced');
    const syncs = (from: number, to: number) => lines.slice(from, to).filter((l) => /\b(fsync|fdatasync)\(/.test(l) && !l.includes('resumed>'));
    const mainSyncsWhileCommitting = syncs(start, marker).filter((l) => Number(/^(\d+)/.exec(l)?.[1]) === main);
    // 50 commits with synchronous=FULL fsync the WAL 50 times on the main thread; an automatic checkpoint may fsync a couple of times.
    assert.ok(mainSyncsWhileCommitting.length <= 3, `${mainSyncsWhileCommitting.length} fsyncs on the main thread while committing:\n${mainSyncsWhileCommitting.slice(0, 8).join('\n')}`);
    // durable(): the WAL opened and fsynced by a thread other than the main one.
    const walOpen = lines.slice(marker).find((l) => l.includes('bucketcast.db-wal') && l.includes('openat'));
    assert.ok(walOpen, 'durable() opened the WAL');
    const fd = /= (\d+)\s*$/.exec(walOpen!)?.[1];
    // `fsync(35 <unfinished ...>` when another thread's call is printed in between (strace -f): a space may follow the fd.
    const walSync = syncs(marker, lines.length).find((l) => new RegExp(`\\b(fsync|fdatasync)\\(${fd}[,) ]`).test(l));
    assert.ok(walSync, `durable() fsynced the WAL (fd ${fd})`);
    assert.notEqual(Number(/^(\d+)/.exec(walSync!)?.[1]), main, 'off the event loop');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an uploaded local copy is deleted only after the rows saying it is verified are durable; a recording is durable before its listener returns', { timeout: 60_000 }, async () => {
  const h = await startStorage([appOf({ name: 'setup', s3RecordingEnabled: false })]);
  try {
    const seen: Array<{ mp4Exists: boolean; mp4State?: string }> = [];
    const rec = plantRecording(h.dataDir, 'durable');
    const mp4 = rec.completed.files.find((f) => f.kind === 'mp4')!;
    const durable = h.store.durable.bind(h.store);
    h.store.durable = async () => {
      const row = (await h.store.catalog.getRecording(rec.completed.recordingId))?.files.find((f) => f.name === mp4.name);
      seen.push({ mp4Exists: existsSync(mp4.path), mp4State: row?.state });
      return durable();
    };
    h.apps.put(appOf({ name: 'durable', s3: { partSizeMiB: 5 } }));
    assert.equal(await h.events.emit('recording.completed', rec.completed), true);
    assert.ok(seen.length >= 1 && seen[0].mp4State === 'queued', `durable before recording.completed's listener returned: ${JSON.stringify(seen)}`);
    await h.waitFor('upload.completed', (e) => e.recordingId === rec.completed.recordingId && e.name === mp4.name, 30_000);
    assert.ok(!existsSync(mp4.path), 'primary mode: the local copy is deleted');
    assert.ok(
      seen.some((s) => s.mp4State === 'uploaded' && s.mp4Exists),
      `durable() ran with the row uploaded and the local copy still there: ${JSON.stringify(seen)}`,
    );
  } finally {
    await h.stop();
    rmSync(h.dataDir, { recursive: true, force: true });
  }
});
