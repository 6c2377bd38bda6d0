/**
 * The panel's side: an operator watches a private app
 * (`playback.access: "signed"`) in the admin panel. The panel mints a viewing
 * token per private app (public/admin/js/viewing.js) and signs the live
 * thumbnails, the recording posters, the download and file links with it;
 * tokens are renewed at half-life (here the app allows 60 s, so the panel's
 * 15-minute tokens are 60 s ones renewed after 30 s) and the thumbnails keep
 * loading across the renewal. A public app's URLs carry no token. Before,
 * every image and link of a private app was refused 403 `token_required`.
 * Play (the player page, in the operator's browser) mints its own token within
 * the app's maximum and renews it, so a live stream plays on past the first
 * token's expiry (before: it asked for an hour, was refused 422 by an app
 * allowing less, and said the app was private).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push, type Push } from '../helpers/media.js';
import { adminEnv, login, type ApiClient } from '../helpers/api.js';
import { launchChromium, playerState, waitForPage, type TestBrowser } from '../helpers/player-browser.js';
import { field, logIn, nav, openPanel, type PanelPage } from '../helpers/panel.js';

const TOKEN_LIFETIME_S = 60;

let server: TestServer;
let browser: TestBrowser;
let page: PanelPage;
let api: ApiClient;
const pushes: Push[] = [];

before(async () => {
  server = await startServer({
    env: adminEnv(),
    config: {
      applications: [
        { name: 'priv', s3RecordingEnabled: false, playback: { access: 'signed', maxTokenLifetimeSeconds: TOKEN_LIFETIME_S } },
        { name: 'pub', s3RecordingEnabled: false },
      ],
    },
  });
  api = await login(server);
  browser = await launchChromium();
  page = await openPanel(browser, server);
  await logIn(page);
});

after(async () => {
  for (const p of pushes) await p.stop();
  await browser?.close();
  await server?.stop();
  server?.cleanup();
});

/** The `token` parameter of a URL, and the app its payload names. */
function tokenOf(url: string): { token: string; app: string } | null {
  const token = new URL(url, server.httpUrl).searchParams.get('token');
  if (!token) return null;
  const payload = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8')) as { a: string; e: number };
  return { token, app: payload.a };
}

const src = (selector: string) => page.getAttribute(selector, 'src').then(String);
const loads = (selector: string) => page.getAttribute(selector, 'data-loads').then(Number);

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('a private app\'s live thumbnails load with a viewing token the panel minted, renewed at half-life; a public app\'s need none', async (t) => {
  await nav(page, 'streams');
  const long = await fixture({ seconds: TOKEN_LIFETIME_S - 10, width: 640, height: 360, fps: 25, videoKbps: 400 });
  const short = await fixture({ seconds: 12, width: 640, height: 360, fps: 25, videoKbps: 400 });
  pushes.push(push(server.rtmpUrl('priv', 'cam1'), long), push(server.rtmpUrl('pub', 'cam2'), short));
  const privThumb = 'article[data-stream="priv/cam1"] img';
  const pubThumb = 'article[data-stream="pub/cam2"] img';
  await page.waitForSelector(`${privThumb}[data-thumb="loaded"]`, { timeout: 30_000 });
  await page.waitForSelector(`${pubThumb}[data-thumb="loaded"]`, { timeout: 30_000 });

  const first = tokenOf(await src(privThumb));
  assert.ok(first, 'the private thumbnail carries a token');
  assert.equal(first.app, 'priv');
  assert.equal(tokenOf(await src(pubThumb)), null, 'the public one does not');
  const bare = new URL(await src(privThumb), server.httpUrl);
  bare.searchParams.delete('token');
  const refused = await fetch(bare);
  assert.equal(refused.status, 403, 'the app really is private: the same URL without the token is refused');
  assert.equal((await fetch(await src(privThumb))).status, 200, 'and with it, served');

  // Half-life: a second token is minted while the stream is on screen, and the thumbnails move to it and keep loading.
  const minted = await waitFor('a renewed token', TOKEN_LIFETIME_S * 1000, async () => Number(await page.evaluate('document.body.dataset.viewingTokens || 0')) >= 2 && true);
  assert.ok(minted);
  const loadsAtRenewal = await loads(privThumb);
  const second = await waitFor('the thumbnail on the new token', 15_000, async () => {
    const now = tokenOf(await src(privThumb));
    return now && now.token !== first.token ? now : undefined;
  });
  await waitFor('a thumbnail loaded on the new token', 15_000, async () => (await loads(privThumb)) > loadsAtRenewal);
  assert.equal(await page.getAttribute(privThumb, 'data-thumb'), 'loaded');
  assert.equal(second.app, 'priv');
  const expiry = (tok: string) => (JSON.parse(Buffer.from(tok.split('.')[0], 'base64url').toString('utf8')) as { e: number }).e;
  const gap = expiry(second.token) - expiry(first.token);
  t.diagnostic(`viewing tokens: the first expires ${expiry(first.token) - Math.floor(Date.now() / 1000)} s from now, the renewal ${gap} s after it`);
  assert.ok(gap >= TOKEN_LIFETIME_S / 2 - 5 && gap <= TOKEN_LIFETIME_S / 2 + 15, `renewed at half-life (${gap} s later)`);
  assert.deepEqual(page.consoleErrors, [], 'no console errors (CSP included)');
});

test('a private recording\'s poster, download and file links carry the token and are served; a public one\'s are plain', async () => {
  for (const p of pushes) assert.equal((await p.done).code, 0);
  const recordingOf = async (app: string) =>
    waitFor(`${app}'s recording completed`, 60_000, async () => {
      const r = (await api.get(`/api/v1/recordings?app=${app}`)).json as { recordings: Array<{ recordingId: string; name: string; inProgress?: boolean; urls: { poster: string | null } }> };
      const rec = r.recordings[0];
      return rec && !rec.inProgress && rec.urls.poster ? rec : undefined;
    });
  const priv = await recordingOf('priv');
  const pub = await recordingOf('pub');
  await nav(page, 'recordings');
  const privRow = `tr[data-recording-id="${priv.recordingId}"]`;
  const pubRow = `tr[data-recording-id="${pub.recordingId}"]`;
  await page.waitForSelector(privRow, { timeout: 30_000 });
  await page.waitForSelector(pubRow, { timeout: 30_000 });

  // The poster: signed, and decoded by the browser (a 403 leaves it broken).
  await waitFor('the private poster decoded', 15_000, async () => page.evaluate(`(() => { const i = document.querySelector('${privRow} img.poster-thumb'); return !!i && i.complete && i.naturalWidth > 0; })()`));
  const poster = await src(`${privRow} img.poster-thumb`);
  assert.equal(tokenOf(poster)?.app, 'priv', poster);
  await waitFor('the public poster decoded', 15_000, async () => page.evaluate(`(() => { const i = document.querySelector('${pubRow} img.poster-thumb'); return !!i && i.complete && i.naturalWidth > 0; })()`));
  assert.equal(tokenOf(await src(`${pubRow} img.poster-thumb`)), null);

  // Download: a link anyone holding it may fetch (no session needed), signed for the app.
  const download = String(await page.getAttribute(`${privRow} [data-action="download"]`, 'href'));
  assert.equal(tokenOf(download)?.app, 'priv', download);
  const got = await fetch(new URL(download, server.httpUrl));
  assert.equal(got.status, 200, `download ${download}`);
  assert.match(got.headers.get('content-type') ?? '', /video\/mp4/);
  assert.equal(tokenOf(String(await page.getAttribute(`${pubRow} [data-action="download"]`, 'href'))), null);

  // Every file link of the details, signed and served.
  await page.click(`${privRow} [data-action="details"]`);
  await page.waitForSelector('tr[data-file]');
  const hrefs = (await page.evaluate(`[...document.querySelectorAll('tr[data-file] a')].map((a) => a.href)`)) as string[];
  assert.ok(hrefs.length >= 2, `files listed: ${hrefs.join(' ')}`);
  for (const h of hrefs) {
    assert.equal(tokenOf(h)?.app, 'priv', h);
    assert.equal((await fetch(h, { method: 'HEAD' })).status, 200, h);
  }
  assert.deepEqual(page.consoleErrors, [], 'no console errors');
});

test('Play on a private app whose tokens live 60 s: the player mints within the maximum, renews at half-life and plays past the first expiry', async (t) => {
  const long = await fixture({ seconds: TOKEN_LIFETIME_S + 35, width: 640, height: 360, fps: 25, videoKbps: 400 });
  const p = push(server.rtmpUrl('priv', 'cam3'), long);
  pushes.push(p);
  // The operator's browser: the panel's session cookie is in this context, as when Play opens a tab.
  const player = await browser.page();
  try {
    await player.goto(`${server.httpUrl}/play.html?app=priv&id=cam3`);
    await waitForPage(player, "document.body.dataset.state === 'playing' || document.body.dataset.state === 'error'", 60_000);
    assert.equal((await playerState(player)).state, 'playing', JSON.stringify(await playerState(player)));
    const target = TOKEN_LIFETIME_S + 8;
    await waitForPage(player, `Number(document.getElementById('video').dataset.played) >= ${target} || document.body.dataset.state === 'error'`, (TOKEN_LIFETIME_S + 30) * 1000, 1000);
    const s = await playerState(player);
    const tokens = Number(await player.evaluate("document.getElementById('video').dataset.tokens || 0"));
    t.diagnostic(`played ${s.played} s of a live private stream on ${tokens} viewing tokens of ${TOKEN_LIFETIME_S} s`);
    assert.equal(s.state, 'playing', JSON.stringify(s));
    assert.ok(s.played >= target, `played ${s.played} s`);
    assert.ok(tokens >= 2, `renewed (${tokens} tokens)`);
    assert.deepEqual(player.errors, [], 'no page error or CSP violation');
  } finally {
    await player.close();
    await p.stop();
  }
});

test('logging out forgets the tokens: logged in again, the panel mints afresh', async () => {
  const before = Number(await page.evaluate('document.body.dataset.viewingTokens || 0'));
  await page.click('#logout');
  await page.waitForSelector('body[data-session="out"]');
  await logIn(page);
  await nav(page, 'recordings');
  await page.waitForSelector('tr[data-recording-id] img.poster-thumb[src*="token="]', { timeout: 15_000 });
  assert.ok(Number(await page.evaluate('document.body.dataset.viewingTokens || 0')) > before, 'a new token after logging in again');
});

test('raising the viewing key generation in the panel revokes the tokens out there (403 token_invalid); the panel mints afresh and still shows the app', async () => {
  const out = await api.post('/api/v1/applications/priv/playback-tokens', {});
  assert.equal(out.status, 201, out.text);
  const rec = ((await api.get('/api/v1/recordings?app=priv')).json as { recordings: Array<{ recordingId: string; urls: { poster: string } }> }).recordings[0];
  const posterUrl = new URL(rec.urls.poster, server.httpUrl);
  posterUrl.searchParams.set('token', out.json.token);
  assert.equal((await fetch(posterUrl)).status, 200, 'a token handed out earlier plays');

  await page.goto(`${server.httpUrl}/admin/#/apps/priv/forwarding`);
  await page.waitForSelector('#forwarding-form');
  assert.equal(await page.inputValue(field('#forwarding-form', 'playback.access')), 'signed');
  await page.fill(field('#forwarding-form', 'playback.keyGeneration'), '1');
  await page.click('#forwarding-form [data-action="save"]');
  await page.waitForSelector('#forwarding-form[data-save-state="saved"]');
  assert.equal((await api.get('/api/v1/applications/priv')).json.settings.playback.keyGeneration, 1);

  const refused = await fetch(posterUrl);
  assert.equal(refused.status, 403);
  assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'token_invalid');

  const minted = Number(await page.evaluate('document.body.dataset.viewingTokens || 0'));
  await nav(page, 'recordings');
  const row = `tr[data-recording-id="${rec.recordingId}"]`;
  await waitFor('the poster decoded on a new token', 20_000, async () => page.evaluate(`(() => { const i = document.querySelector('${row} img.poster-thumb'); return !!i && i.complete && i.naturalWidth > 0 && i.src.includes('token='); })()`));
  assert.ok(Number(await page.evaluate('document.body.dataset.viewingTokens || 0')) > minted, 'a token of the new generation was minted');
  assert.equal((await fetch(new URL(await src(`${row} img.poster-thumb`), server.httpUrl))).status, 200);
});
