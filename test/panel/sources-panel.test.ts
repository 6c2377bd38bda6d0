/**
 * Sources and imports in the panel (headless Chromium): the Live
 * streams view lists every source with its masked URL, its state and last
 * error, following `source.state` events without a reload (a source that
 * starts failing shows `failed` with the error; one disabled shows
 * `disabled`), and the imports with their state.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { startServer, type TestServer } from '../helpers/server.js';
import { ApiClient, adminEnv, login } from '../helpers/api.js';
import { launchChromium, type TestBrowser } from '../helpers/player-browser.js';
import { logIn, markNoReload, nav, openPanel, stillNotReloaded, type PanelPage } from '../helpers/panel.js';

let server: TestServer;
let api: ApiClient;
let browser: TestBrowser;
let page: PanelPage;

before(async () => {
  server = await startServer({ env: adminEnv(), config: { server: { host: '127.0.0.1' }, applications: [{ name: 'live', s3RecordingEnabled: false }] } });
  api = await login(server);
  browser = await launchChromium();
  page = await openPanel(browser, server);
  await logIn(page);
});
after(async () => {
  await browser?.close();
  await server?.stop();
  server?.cleanup();
});

test('the Live streams view shows sources with state and last error, and imports, live from events', async () => {
  await nav(page, 'streams');
  await page.waitForSelector('#sources');
  await markNoReload(page);
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(r));
  assert.equal((await api.post('/api/v1/applications/live/sources', { streamId: 'studio', url: `srt://:${port}?mode=listener&passphrase=panel-Secret-1` })).status, 201);
  await page.waitForSelector('tr[data-source="live/studio"][data-state="connecting"]', { timeout: 15_000 });
  assert.equal(await page.textContent('tr[data-source="live/studio"] td:nth-child(2)'), `srt://:${port}?mode=listener&passphrase=***`);

  // Nothing listens on port 1: the camera fails, and the row says why without a reload.
  assert.equal((await api.post('/api/v1/applications/live/sources', { streamId: 'door', url: 'rtsp://admin:door-Secret-1@127.0.0.1:1/cam' })).status, 201);
  await page.waitForSelector('tr[data-source="live/door"][data-state="failed"]', { timeout: 20_000 });
  const error = (await page.textContent('tr[data-source="live/door"] [data-last-error]')) ?? '';
  assert.match(error, /refused|failed|error/i);
  assert.ok(!error.includes('door-Secret-1'));
  await api.patch('/api/v1/applications/live/sources/door', { enabled: false });
  await page.waitForSelector('tr[data-source="live/door"][data-state="disabled"]', { timeout: 10_000 });

  const imp = await api.post('/api/v1/applications/live/imports', { url: 'http://127.0.0.1:1/missing.mp4' });
  await page.waitForSelector(`tr[data-import="${imp.json.importId}"][data-state="failed"]`, { timeout: 20_000 });
  const html = await page.content();
  assert.ok(!html.includes('panel-Secret-1') && !html.includes('door-Secret-1'), 'no secret in the page');
  assert.ok(await stillNotReloaded(page));
  assert.deepEqual(page.consoleErrors, []);
});
