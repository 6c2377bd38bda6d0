/**
 * What `npm start` and the image run: the server compiled to dist/ by
 * `npm run build` (tsc), not the sources through tsx. It finds its own files
 * (config, public pages, package version) from dist/, its workers (.mjs) are
 * copied beside their callers, and it records, stores and serves a push as the
 * sources do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT, startServer } from '../helpers/server.js';
import { login } from '../helpers/api.js';
import { fixture } from '../helpers/fixtures.js';
import { decodesCleanly, ffprobe, push } from '../helpers/media.js';

const run = promisify(execFile);

test('npm run build compiles the server to dist/, which records a push into the local store and serves its pages', { timeout: 300_000 }, async () => {
  await run(process.execPath, [path.join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, timeout: 240_000 });
  for (const f of ['main.js', 'auth/password-worker.mjs', 'process/spawn-helper.mjs', 'storage/targets/part-reader-worker.mjs']) {
    assert.ok(existsSync(path.join(ROOT, 'dist', f)), `dist/${f}`);
  }
  const src = await fixture({ seconds: 4 });
  const server = await startServer({ compiled: true, events: true, config: { applications: [{ name: 'live' }] }, env: { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' } });
  try {
    assert.ok(server.proc.spawnargs.includes(path.join(ROOT, 'dist/main.js')), server.proc.spawnargs.join(' '));
    assert.ok(!server.proc.spawnargs.includes('tsx'), 'no tsx');
    const api = await login(server); // the password check runs in its worker
    const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    assert.equal((await api.get('/api/v1/server')).json.version, version);
    const page = await fetch(`${server.httpUrl}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i, 'public/ is served');

    assert.equal((await push(server.rtmpUrl('live', 'built'), src).done).code, 0);
    const name = String((await server.events.waitFor('recording.completed', (e) => e.streamId === 'built', 60_000, 'recording completed')).name);
    await server.events.waitFor('upload.completed', (e) => e.kind === 'mp4' && String(e.key).includes(name), 60_000, 'mp4 stored');
    const mp4 = path.join(server.dataDir, 'bucket', 'live', 'streams', `${name}.mp4`);
    const probe = await ffprobe(mp4);
    assert.ok(Math.abs(probe.duration - 4) < 0.5, `duration ${probe.duration}`);
    assert.ok(await decodesCleanly(mp4), 'decodes without an error');
    assert.deepEqual(server.otherOutput, [], 'nothing but JSON log lines');
  } finally {
    await server.stop();
    server.cleanup();
  }
});
