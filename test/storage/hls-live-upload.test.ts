/**
 * `hlsLiveUpload`: during the push the bucket's playlist is
 * at most one segment behind the local one and only names segments already in
 * the bucket; at the end it is the VOD playlist with `#EXT-X-ENDLIST`, every
 * segment written once, nothing left locally (primary mode).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { startServer, until } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push } from '../helpers/media.js';
import { credentialEnv, s3SettingsFor, startS3Target } from '../helpers/s3.js';

const BUCKET = 'hls-live';
const segmentsOf = (text: string) => text.split('\n').filter((l) => l.trim().endsWith('.ts'));

test('hlsLiveUpload: the bucket playlist follows the live one within a segment and ends as VOD', { timeout: 180_000 }, async () => {
  const s3 = await startS3Target();
  await s3.createBucket(BUCKET);
  const src = await fixture({ seconds: 24, width: 640, height: 360, videoKbps: 1000 });
  const server = await startServer({
    events: true,
    env: credentialEnv(s3),
    config: { applications: [{ name: 'live', hlsLiveUpload: true, hlsTime: 2, previews: { periodSeconds: 4 }, s3: s3SettingsFor(s3, BUCKET) }] },
  });
  try {
    const p = push(server.rtmpUrl('live', 'cam'), src);
    const name = String((await server.events.waitFor('recording.started', () => true, 15_000, 'recording started')).name);
    const local = path.join(server.dataDir, 'live', 'streams', `${name}.m3u8`);
    const key = `streams/${name}.m3u8`;
    const lags: number[] = [];
    await until(async () => (await s3.listObjects(BUCKET, key)).length === 1, 30_000, 'the playlist in the bucket while live');
    while (p.proc.exitCode === null) {
      // The local count first: the bucket is read after it, so the lag is never understated.
      const localCount = existsSync(local) ? segmentsOf(readFileSync(local, 'utf8')).length : 0;
      const text = (await s3.getObject(BUCKET, key)).toString('utf8');
      const inBucket = segmentsOf(text);
      if (p.proc.exitCode !== null) break;
      assert.doesNotMatch(text, /#EXT-X-ENDLIST/, 'live: no end tag yet');
      const objects = new Set((await s3.listObjects(BUCKET, 'streams/')).map((o) => path.basename(o.key)));
      for (const s of inBucket) assert.ok(objects.has(s), `${s} named by the bucket playlist is in the bucket`);
      lags.push(localCount - inBucket.length);
      await new Promise((r) => setTimeout(r, 250));
    }
    const hist = new Map<number, number>();
    for (const l of lags) hist.set(l, (hist.get(l) ?? 0) + 1);
    console.log(`segments behind (samples): ${[...hist].sort((a, b) => a[0] - b[0]).map(([l, n]) => `${l}: ${n}`).join(', ')}`);
    assert.ok(lags.length >= 20, `${lags.length} samples`);
    assert.ok(Math.max(...lags) <= 1, `the bucket playlist was up to ${Math.max(...lags)} segments behind`);

    assert.equal((await p.done).code, 0);
    await server.events.waitFor('upload.completed', (e) => e.kind === 'metadata' && e.app === 'live', 60_000, 'recording uploaded');
    const vod = await until(async () => {
      const text = (await s3.getObject(BUCKET, key)).toString('utf8');
      return /#EXT-X-ENDLIST/.test(text) ? text : undefined;
    }, 20_000, 'the VOD playlist in the bucket');
    assert.match(vod, /#EXT-X-PLAYLIST-TYPE:VOD/);
    const segments = segmentsOf(vod);
    assert.ok(segments.length >= 10, `${segments.length} segments`);
    const writes = s3.writes(BUCKET);
    for (const s of segments) assert.equal(writes.get(`streams/${s}`), 1, `${s} written once`);
    assert.ok((writes.get(key) ?? 0) >= segments.length / 2, `the playlist was written ${writes.get(key)} times while live`);
    await until(() => !readdirSync(path.join(server.dataDir, 'live', 'streams')).some((n) => /\.(ts|m3u8|mp4)$/.test(n)), 20_000, 'nothing left locally');
    await until(() => !existsSync(path.join(server.dataDir, '.live-upload')) || readdirSync(path.join(server.dataDir, '.live-upload')).length === 0, 20_000, 'no live-upload links left');
  } finally {
    await server.stop();
    server.cleanup();
    await s3.cleanup();
  }
});
