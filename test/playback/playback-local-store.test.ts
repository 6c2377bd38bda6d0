/**
 * End to end: `npm start` with no S3 settings, then a push. The
 * recording becomes plain files under `<dataDir>/bucket/` (the local store),
 * its work copy is gone, and its stable URL answers from the local store:
 * 200 for the whole MP4, 206 for a `Range`, and Chromium plays it.
 *
 * Needs the forwarding side of the LocalObjectResolver contract (branch
 * i12-forward: forwarding asks storage's ObjectAccess.localPath before it
 * redirects or proxies); wired by the lead on merge.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, type TestServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push } from '../helpers/media.js';
import { launchChromium, playUntilFiveSeconds, type TestBrowser } from '../helpers/player-browser.js';

let server: TestServer;
let browser: TestBrowser;
let name: string;

before(async () => {
  const src = await fixture({ seconds: 8 });
  server = await startServer({ events: true, config: { applications: [{ name: 'live' }] }, env: { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' } });
  browser = await launchChromium();
  assert.equal((await push(server.rtmpUrl('live', 'cam1'), src).done).code, 0);
  await server.events.waitFor('upload.completed', (e) => e.kind === 'metadata', 90_000, 'recording uploaded');
  name = String((await server.events.waitFor('recording.completed', () => true)).name);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  server?.cleanup();
});

test('the stable URL of a recording in the local store answers 200, 206 with Range, and plays in Chromium', async () => {
  const file = path.join(server.dataDir, 'bucket', 'live', 'streams', `${name}.mp4`);
  assert.ok(existsSync(file), 'a plain MP4 under bucket/');
  assert.ok(!existsSync(path.join(server.dataDir, 'live', 'streams', `${name}.mp4`)), 'the work copy is gone');
  const bytes = readFileSync(file);
  const url = `${server.httpUrl}/live/streams/${name}.mp4`;
  const whole = await fetch(url);
  assert.equal(whole.status, 200);
  assert.ok(Buffer.from(await whole.arrayBuffer()).equals(bytes), 'the whole file');
  const part = await fetch(url, { headers: { Range: 'bytes=100-1123' } });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), `bytes 100-1123/${bytes.length}`);
  assert.ok(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(100, 1124)), 'the range asked for');
  const s = await playUntilFiveSeconds(browser, `${server.httpUrl}/play.html?app=live&name=${name}.mp4`);
  assert.ok(s.currentTime > 5, JSON.stringify(s));
  assert.equal(s.errors, 0);
  assert.deepEqual(s.pageErrors, []);
});
