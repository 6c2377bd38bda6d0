/**
 * The player on a live stream, in headless Chromium against the real
 * server: it says the stream is offline, picks it up when a real RTMP push
 * starts, plays its HLS past 5 s with no error event, and goes back to
 * waiting when the push ends.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push, type Push } from '../helpers/media.js';
import { launchChromium, playerState, waitForPage, type TestBrowser } from '../helpers/player-browser.js';

let server: TestServer;
let browser: TestBrowser;
let pusher: Push | undefined;

before(async () => {
  [server, browser] = await Promise.all([startServer(), launchChromium()]);
});

after(async () => {
  await pusher?.stop();
  await browser?.close();
  await server?.stop();
  server?.cleanup();
});

test('offline, then live: the player picks the stream up and plays its HLS past 5 s without an error', async () => {
  const src = await fixture({ seconds: 40, width: 640, height: 360, fps: 25, gop: 50, videoKbps: 800 });
  const page = await browser.page();
  await page.goto(`${server.httpUrl}/play.html?app=live&id=cam7`);
  await waitForPage(page, "document.body.dataset.state === 'offline'", 15_000);
  const offline = await playerState(page);
  assert.match(offline.message, /Stream "cam7" is offline/);

  pusher = push(server.rtmpUrl('live', 'cam7'), src);
  await waitForPage(page, "document.getElementById('video').currentTime > 5 && Number(document.getElementById('video').dataset.played) >= 5 || document.body.dataset.state === 'error'", 90_000);
  const s = await playerState(page);
  assert.ok(s.currentTime > 5, JSON.stringify(s));
  assert.ok(s.played >= 5, `played ${s.played} s`);
  assert.equal(s.errors, 0, 'no error event');
  assert.equal(s.state, 'playing');
  assert.equal(s.engine, 'hls.js');
  assert.equal(s.source, 'live/streams/cam7.m3u8');
  assert.ok(pusher.proc.exitCode === null, 'the push is still running');
  assert.deepEqual(page.errors, []);

  // The publisher leaves: the live playlist goes away and the player waits again.
  await pusher.stop();
  await waitForPage(page, "document.body.dataset.state === 'offline'", 60_000, 500);
  await page.close();
});
