/**
 * The landing page `/`: says what the server is, shows this host's RTMP and
 * WHIP publish URLs (the RTMP port from `GET /landing.json`, updated as the
 * app and stream id are typed), and links to the panel, the publisher page,
 * the player and the API reference, all of which answer. Served under the
 * public pages' strict CSP (no inline script or style), with no CSP
 * violation, uncaught error or console error in headless Chromium.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.js';
import { launchChromium, type TestBrowser } from '../helpers/player-browser.js';

let server: TestServer;
let browser: TestBrowser;

before(async () => {
  server = await startServer({ config: { applications: [{ name: 'live', s3RecordingEnabled: false }] } });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  server?.cleanup();
});

test('GET / is the landing page under the strict page CSP, with no inline script or style', async () => {
  for (const p of ['/', '/index.html']) {
    const r = await fetch(`${server.httpUrl}${p}`);
    assert.equal(r.status, 200, p);
    const csp = r.headers.get('content-security-policy') ?? '';
    assert.match(csp, /(^|;\s*)script-src 'self'(;|$)/, `${p} script-src: ${csp}`);
    assert.match(csp, /(^|;\s*)style-src 'self'(;|$)/, `${p} style-src`);
    assert.match(csp, /(^|;\s*)default-src 'none'(;|$)/, `${p} default-src`);
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
    const html = await r.text();
    assert.doesNotMatch(html, /<style|<script(?![^>]*\bsrc=)|\sstyle=|\son[a-z]+=/i, 'no inline style, script or handler');
    assert.match(html, /<link rel="stylesheet" href="index.css">/);
  }
  const facts = await (await fetch(`${server.httpUrl}/landing.json`)).json();
  assert.deepEqual(facts, { rtmpPort: server.rtmpPort, rtmpsPort: null, whip: true });
});

test('in Chromium: the publish URLs of this host, updated as typed, and every link answers', async () => {
  const page = await browser.page();
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  await page.goto(`${server.httpUrl}/`);
  await page.waitForSelector('body[data-state="ready"]');
  assert.match((await page.textContent('h1')) ?? '', /bucketcast/);
  assert.match((await page.textContent('.lead')) ?? '', /S3 bucket/);
  const url = new URL(server.httpUrl);
  assert.equal(await page.textContent('#rtmp-url'), `rtmp://${url.hostname}:${server.rtmpPort}/live/mystream`);
  assert.equal(await page.textContent('#rtmp-server'), `rtmp://${url.hostname}:${server.rtmpPort}/live`);
  assert.equal(await page.textContent('#whip-url'), `${server.httpUrl}/live/whip/mystream`);
  assert.equal(await page.isVisible('#rtmps'), false, 'no RTMPS URL when RTMPS is off');

  await page.fill('#streamId', 'cam1');
  assert.equal(await page.textContent('#rtmp-url'), `rtmp://${url.hostname}:${server.rtmpPort}/live/cam1`);
  assert.equal(await page.textContent('#rtmp-key'), 'cam1');
  assert.equal(await page.textContent('#whip-url'), `${server.httpUrl}/live/whip/cam1`);

  const links = await page.$$eval('a[href]', (as) => as.map((a) => ({ id: a.id, href: (a as HTMLAnchorElement).href })));
  const byId = new Map(links.map((l) => [l.id, l.href]));
  assert.equal(byId.get('link-admin'), `${server.httpUrl}/admin/`);
  assert.equal(byId.get('link-player'), `${server.httpUrl}/play.html?app=live&id=cam1`);
  assert.equal(byId.get('link-publish'), `${server.httpUrl}/publish.html?app=live&id=cam1`);
  assert.equal(byId.get('link-api'), `${server.httpUrl}/api/v1/openapi.json`);
  for (const l of links) {
    const r = await fetch(l.href);
    assert.equal(r.status, 200, `${l.id} → ${l.href}`);
  }

  // The player link opens the player on that stream (offline: nothing is published).
  await page.click('#link-player');
  await page.waitForSelector('body[data-state="offline"]');
  assert.match((await page.textContent('#title')) ?? '', /live \/ cam1/);
  // The panel link opens the panel's login view.
  await page.goto(`${server.httpUrl}/`);
  await page.waitForSelector('body[data-state="ready"]');
  await page.click('#link-admin');
  await page.waitForSelector('body[data-session="out"]');

  assert.deepEqual(page.errors, [], 'no uncaught error or CSP violation');
  // The player's probe of the offline stream is a 404 resource load, which Chromium logs; nothing else.
  assert.deepEqual(consoleErrors.filter((t) => !/Failed to load resource/.test(t)), []);
  await page.close();
});
