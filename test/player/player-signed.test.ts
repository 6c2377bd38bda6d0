/**
 * Private viewing in headless Chromium: a recording of a private app
 * (`playback.access: "signed"`) plays through hls.js with a viewing token
 * minted by the API (the token rides into every segment request through the
 * rewritten playlist); without one the player says the app is private; opened
 * by a logged-in admin (the panel's Play button) the player mints its own.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { makeRecording, type TestRecording } from '../helpers/fwd-server.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { adminEnv, login, type ApiClient } from '../helpers/api.js';
import { launchChromium, playerState, playUntilFiveSeconds, waitForPage, type TestBrowser } from '../helpers/player-browser.js';

let server: TestServer;
let rec: TestRecording;
let browser: TestBrowser;
let admin: ApiClient;

before(async () => {
  [rec, browser] = await Promise.all([makeRecording('cam1_20261204T101500Z', 8), launchChromium()]);
  server = await startServer({ config: { applications: [{ name: 'priv', s3RecordingEnabled: false, playback: { access: 'signed' } }] }, env: adminEnv() });
  const streams = path.join(server.dataDir, 'priv', 'streams');
  const previews = path.join(server.dataDir, 'priv', 'previews');
  mkdirSync(streams, { recursive: true });
  mkdirSync(previews, { recursive: true });
  for (const f of [rec.mp4, rec.playlist, ...rec.segments]) copyFileSync(f, path.join(streams, path.basename(f)));
  copyFileSync(rec.poster, path.join(previews, path.basename(rec.poster)));
  admin = await login(server);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  server?.cleanup();
});

test('hls.js plays a signed recording: every playlist and segment request carries the token', async () => {
  const minted = await admin.post('/api/v1/applications/priv/playback-tokens', { prefix: `streams/${rec.name}`, expiresInSeconds: 600 });
  assert.equal(minted.status, 201);
  const seen: Array<{ url: string; status: number }> = [];
  browser.context.on('response', (r) => {
    if (r.url().includes('/priv/streams/')) seen.push({ url: r.url(), status: r.status() });
  });
  const s = await playUntilFiveSeconds(browser, `${server.httpUrl}/play.html?app=priv&name=${rec.name}.m3u8&${minted.json.query}`);
  assert.ok(s.currentTime > 5, JSON.stringify(s));
  assert.equal(s.state, 'playing');
  assert.equal(s.engine, 'hls.js');
  assert.equal(s.errors, 0);
  assert.deepEqual(s.pageErrors, []);
  const segments = seen.filter((r) => /\.ts\?/.test(r.url));
  assert.ok(segments.length >= 3, `segments fetched: ${segments.length}`);
  for (const r of seen) {
    assert.equal(new URL(r.url).searchParams.get('token'), minted.json.token, r.url);
    assert.ok(r.status === 200 || r.status === 206, `${r.url}: ${r.status}`);
  }
});

test('without a token the player says the app is private; a logged-in admin\'s player mints its own', async () => {
  const page = await browser.page();
  try {
    await page.goto(`${server.httpUrl}/play.html?app=priv&name=${rec.name}.m3u8`);
    await waitForPage(page, "['error', 'not-found', 'playing'].includes(document.body.dataset.state)", 30_000);
    const s = await playerState(page);
    assert.equal(s.state, 'error');
    assert.match(s.message, /private/);
  } finally {
    await page.close();
  }
  const [name, value] = admin.auth.cookie!.split('=');
  await browser.context.addCookies([{ name, value, url: server.httpUrl }]);
  try {
    for (const file of [`${rec.name}.m3u8`, `${rec.name}.mp4`]) {
      const s = await playUntilFiveSeconds(browser, `${server.httpUrl}/play.html?app=priv&name=${file}`);
      assert.ok(s.currentTime > 5, `${file}: ${JSON.stringify(s)}`);
      assert.equal(s.errors, 0, file);
      assert.match(s.source, /\?token=/, `${file}: the minted token is in the media URL`);
      assert.match(s.poster, /^priv\/previews\/.*\.webp\?token=/, `${file}: the poster too`);
    }
  } finally {
    await browser.context.clearCookies();
  }
});
