/**
 * With `hlsLiveUpload`, hls.js in headless Chromium plays
 * the live stream from the bucket itself (the page and hls.js are objects of
 * the same bucket, so no CORS is involved): past 5 s of playback while the
 * push is still running, without an error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { startServer, until } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push } from '../helpers/media.js';
import { credentialEnv, s3SettingsFor, startS3Target } from '../helpers/s3.js';
import { launchChromium } from '../helpers/player-browser.js';

const BUCKET = 'hls-live-play';
const require = createRequire(import.meta.url);

test('hls.js plays the live stream from the bucket while it is pushed', { timeout: 180_000 }, async () => {
  const s3 = await startS3Target();
  await s3.createBucket(BUCKET);
  const src = await fixture({ seconds: 40, width: 640, height: 360, fps: 25, gop: 50, videoKbps: 800 });
  const [server, browser] = await Promise.all([
    startServer({ events: true, env: credentialEnv(s3), config: { applications: [{ name: 'live', hlsLiveUpload: true, hlsTime: 2, s3: s3SettingsFor(s3, BUCKET) }] } }),
    launchChromium(),
  ]);
  const p = push(server.rtmpUrl('live', 'cam'), src);
  try {
    const name = String((await server.events.waitFor('recording.started', () => true, 15_000, 'recording started')).name);
    const client = s3.client();
    const put = (Key: string, Body: string | Buffer, ContentType: string) => client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body, ContentType }));
    await put('hls.min.js', readFileSync(require.resolve('hls.js/dist/hls.min.js')), 'text/javascript');
    await put('live.html', `<!doctype html><video id="v" muted autoplay></video><script src="hls.min.js"></script><script>
      const v = document.getElementById('v'); v.dataset.errors = '0';
      const hls = new Hls(); hls.on(Hls.Events.ERROR, (_e, d) => { if (d.fatal) v.dataset.errors = String(Number(v.dataset.errors) + 1); });
      hls.loadSource('streams/${name}.m3u8'); hls.attachMedia(v);
    </script>`, 'text/html');
    await until(async () => (await s3.listObjects(BUCKET, `streams/${name}.m3u8`)).length === 1, 30_000, 'the live playlist in the bucket');
    const page = await browser.page();
    await page.goto(`${s3.endpoint}/${BUCKET}/live.html`);
    await page.waitForFunction("document.getElementById('v').currentTime > 5 || Number(document.getElementById('v').dataset.errors) > 0", undefined, { timeout: 60_000, polling: 250 });
    const state = (await page.evaluate("({ t: document.getElementById('v').currentTime, errors: Number(document.getElementById('v').dataset.errors) })")) as { t: number; errors: number };
    assert.equal(state.errors, 0, 'no fatal hls.js error');
    assert.ok(state.t > 5, `played ${state.t} s`);
    assert.equal(p.proc.exitCode, null, 'the push is still running: this was the live stream');
    assert.deepEqual(page.errors, []);
    await page.close();
  } finally {
    await p.stop();
    await browser.close();
    await server.stop();
    server.cleanup();
    await s3.cleanup();
  }
});
