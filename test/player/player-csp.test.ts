/**
 * A strict Content-Security-Policy on the public pages.
 * `play.html` and `publish.html` answer with `script-src 'self'; style-src
 * 'self'` (no inline script or style, no eval, no plugins; the publisher page
 * never framed), their styles come from play.css / publish.css, and in
 * headless Chromium, with every CSP violation counted as a page error, the
 * player still plays a live stream and a recording and the publisher page
 * still publishes over WHIP. An inline style or script slipped into a page is
 * refused and reported (so a violation cannot go unseen by these tests).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { startServer, type TestServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push, type Push } from '../helpers/media.js';
import { isCspViolation, launchChromium, playerState, waitForPage, type TestBrowser } from '../helpers/player-browser.js';
import { CHROMIUM_ARGS } from '../helpers/whip.js';

let server: TestServer;
let browser: TestBrowser;
let pusher: Push | undefined;

before(async () => {
  server = await startServer({ events: true, config: { applications: [{ name: 'live', s3RecordingEnabled: false }] } });
  browser = await launchChromium();
});

after(async () => {
  await pusher?.stop();
  await browser?.close();
  await server?.stop();
  server?.cleanup();
});

/** The CSP directives of an answer, by name. */
function directives(header: string | null): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const d of (header ?? '').split(';')) {
    const [name, ...values] = d.trim().split(/\s+/);
    if (name) m.set(name.toLowerCase(), values);
  }
  return m;
}

test('play.html and publish.html: script-src and style-src are \'self\' only, no inline markup, styles from their .css files', async () => {
  for (const page of ['play', 'publish']) {
    const r = await fetch(`${server.httpUrl}/${page}.html`);
    assert.equal(r.status, 200);
    const csp = directives(r.headers.get('content-security-policy'));
    assert.deepEqual(csp.get('script-src'), ["'self'"], `${page}.html script-src: ${r.headers.get('content-security-policy')}`);
    assert.deepEqual(csp.get('style-src'), ["'self'"], `${page}.html style-src`);
    assert.deepEqual(csp.get('default-src'), ["'none'"], `${page}.html default-src`);
    assert.deepEqual(csp.get('object-src'), ["'none'"], `${page}.html object-src`);
    assert.deepEqual(csp.get('base-uri'), ["'none'"], `${page}.html base-uri`);
    const html = await r.text();
    assert.doesNotMatch(html, /<style|<script(?![^>]*\bsrc=)|\sstyle=|\son[a-z]+=/i, `${page}.html has no inline style, script or handler`);
    assert.match(html, new RegExp(`<link rel="stylesheet" href="${page}.css">`));
    const css = await fetch(`${server.httpUrl}/${page}.css`);
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type') ?? '', /^text\/css/);
  }
  const publish = directives((await fetch(`${server.httpUrl}/publish.html`)).headers.get('content-security-policy'));
  assert.deepEqual(publish.get('frame-ancestors'), ["'none'"]);
});

test('under the CSP the player plays a live stream past 5 s and then its recording, with no violation or page error', async () => {
  const src = await fixture({ seconds: 16, width: 640, height: 360, fps: 25, gop: 50, videoKbps: 600 });
  pusher = push(server.rtmpUrl('live', 'csp'), src);
  const started = await server.events.waitFor('recording.started', (e) => e.streamId === 'csp', 20_000, 'recording started');
  const live = await browser.page();
  try {
    await live.goto(`${server.httpUrl}/play.html?app=live&id=csp`);
    await waitForPage(live, "document.getElementById('video').currentTime > 5 || document.body.dataset.state === 'error'", 60_000);
    const s = await playerState(live);
    assert.equal(s.state, 'playing', JSON.stringify(s));
    assert.equal(s.engine, 'hls.js', 'hls.js (its blob: worker and media source) runs under the CSP');
    assert.equal(s.errors, 0);
    // The stylesheet applied: the player's dark background comes from play.css.
    assert.equal(await live.evaluate('getComputedStyle(document.body).backgroundColor'), 'rgb(17, 17, 17)');
    assert.deepEqual(live.errors, [], 'no CSP violation, no page error');
  } finally {
    await live.close();
  }
  await pusher.done;
  const name = String(started.name);
  await server.events.waitFor('recording.completed', (e) => e.name === name, 30_000, 'recording completed');
  for (const file of [`${name}.mp4`, `${name}.m3u8`]) {
    const page = await browser.page();
    try {
      await page.goto(`${server.httpUrl}/play.html?app=live&name=${file}`);
      await waitForPage(page, "document.getElementById('video').currentTime > 5 || ['error', 'not-found'].includes(document.body.dataset.state)", 60_000);
      const s = await playerState(page);
      assert.equal(s.state, 'playing', `${file}: ${JSON.stringify(s)}`);
      assert.equal(s.poster, `live/previews/${name}.jpg`, `${file}: the poster loads under img-src`);
      assert.deepEqual(page.errors, [], `${file}: no CSP violation, no page error`);
    } finally {
      await page.close();
    }
  }
});

test('an inline style or script slipped into the player page is refused and counted as a page error', async () => {
  const page = await browser.page();
  try {
    await page.goto(`${server.httpUrl}/play.html?app=live&id=nobody`);
    await waitForPage(page, "document.body.dataset.state === 'offline'", 15_000);
    await page.evaluate(`(() => {
      const st = document.createElement('style');
      st.textContent = 'body { background: rgb(255, 0, 0) !important; }';
      document.head.appendChild(st);
      const sc = document.createElement('script');
      sc.textContent = 'document.body.dataset.injected = "ran"';
      document.body.appendChild(sc);
      document.body.setAttribute('style', 'color: rgb(0, 255, 0)');
    })()`);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await page.evaluate('getComputedStyle(document.body).backgroundColor'), 'rgb(17, 17, 17)', 'the inline <style> did not apply');
    assert.notEqual(await page.evaluate('getComputedStyle(document.body).color'), 'rgb(0, 255, 0)', 'the style attribute did not apply');
    assert.equal(await page.evaluate('document.body.dataset.injected || ""'), '', 'the inline script did not run');
    const csp = page.errors.filter((e) => e.startsWith('CSP: '));
    assert.ok(csp.some((e) => /style-src/.test(e)) && csp.some((e) => /script-src/.test(e)), `both violations reported: ${JSON.stringify(page.errors)}`);
  } finally {
    await page.close();
  }
});

test('under the CSP publish.html publishes over WHIP (fake camera), with no violation or page error', async () => {
  const chrome = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
  try {
    const page = await chrome.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (isCspViolation(m.text())) errors.push(`CSP: ${m.text()}`);
    });
    await page.goto(`${server.httpUrl}/publish.html?app=live&id=cspweb`);
    // The pill's look comes from publish.css.
    assert.equal(await page.evaluate("getComputedStyle(document.getElementById('state')).borderTopLeftRadius"), '16px');
    await page.click('#start');
    await page.waitForSelector('#state[data-state=connected]', { timeout: 30_000 });
    await server.events.waitFor('recording.started', (e) => e.streamId === 'cspweb', 20_000, 'whip recording started');
    await new Promise((r) => setTimeout(r, 3_000));
    await page.click('#stop');
    await page.waitForSelector('#state[data-state=stopped]', { timeout: 15_000 });
    assert.equal(await page.evaluate("getComputedStyle(document.getElementById('state')).backgroundColor"), 'rgb(229, 229, 234)', 'styled by publish.css after stopping too');
    assert.deepEqual(errors, [], 'no CSP violation, no page error');
  } finally {
    await chrome.close();
  }
});
