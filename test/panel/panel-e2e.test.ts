/**
 * The panel's "done when": in headless Chromium an operator logs in,
 * stores an AWS credential, creates an application, fills its S3 storage
 * form with that credential, runs "Test connection" (every step ok, nothing
 * saved by the test), saves; a pushed stream appears live with a thumbnail;
 * its recording reaches "uploaded" in the Recordings view without a reload;
 * its Play button plays it (from the bucket) past 5 s. Also: live stream
 * actions (recording off/on, kick), credentials (in use, rename) and API
 * tokens shown once.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { startServer, type TestServer } from '../helpers/server.js';
import { startS3Target, type S3Keys, type S3TestTarget } from '../helpers/s3.js';
import { GRANTS } from '../helpers/s3-policy.js';
import { fixture } from '../helpers/fixtures.js';
import { push } from '../helpers/media.js';
import { ADMIN_PASSWORD, ApiClient, adminEnv, login } from '../helpers/api.js';
import { launchChromium, playUntilFiveSeconds, type TestBrowser } from '../helpers/player-browser.js';
import { attrs, confirm, field, fieldError, logIn, markNoReload, nav, openPanel, stillNotReloaded, type PanelPage } from '../helpers/panel.js';

let server: TestServer;
let s3: S3TestTarget;
let keys: S3Keys;
let browser: TestBrowser;
let api: ApiClient;
let page: PanelPage;
let credentialSid: string;

before(async () => {
  s3 = await startS3Target();
  await s3.createBucket('media');
  keys = await s3.grant('media', GRANTS.full);
  server = await startServer({ env: adminEnv(), config: { applications: [{ name: 'live', s3RecordingEnabled: false }] } });
  api = await login(server);
  browser = await launchChromium();
  page = await openPanel(browser, server);
  await logIn(page);
});
after(async () => {
  await browser?.close();
  await server?.stop();
  server?.cleanup();
  await s3?.cleanup();
});

test('the panel is served from /admin/ with a strict Content-Security-Policy and no third-party resources', async () => {
  const res = await fetch(`${server.httpUrl}/admin/`);
  assert.equal(res.status, 200);
  const csp = String(res.headers.get('content-security-policy'));
  for (const d of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) assert.ok(csp.includes(d), `${d} in ${csp}`);
  assert.equal(res.headers.get('x-frame-options'), 'DENY');
  const html = await res.text();
  assert.doesNotMatch(html, /<script>|<script[^>]*>[^<]|style=|https?:\/\//, 'no inline script or style, nothing from elsewhere');
  const js = await fetch(`${server.httpUrl}/admin/js/main.js`);
  assert.match(String(js.headers.get('content-type')), /javascript/);
  assert.equal((await fetch(`${server.httpUrl}/admin`, { redirect: 'manual' })).headers.get('location'), '/admin/');
});

test('S3 set up with a stored credential, a stream live with a thumbnail, its recording uploaded without a reload, and played', async () => {
  // A stored credential, created in the panel.
  await nav(page, 'credentials');
  await page.fill('[data-form="credential"] input[name="friendlyName"]', 'media bucket');
  await page.fill('[data-form="credential"] input[name="accessKeyId"]', keys.accessKeyId);
  await page.fill('[data-form="credential"] input[name="secretAccessKey"]', keys.secretAccessKey);
  await page.click('[data-action="create-credential"]');
  credentialSid = String(await (await page.waitForSelector('tr[data-credential]')).getAttribute('data-credential'));
  assert.match(credentialSid, /^CR[0-9a-f]{32}$/);
  assert.ok(!(await page.content()).includes(keys.secretAccessKey), 'the secret is never shown');

  // A new application, with a preview every second.
  await nav(page, 'apps');
  await page.fill('#create-app-form input[name="name"]', 'studio');
  await page.click('[data-action="create-app"]');
  await page.waitForSelector('body[data-view="app-settings"] #recording-form');
  await page.fill(field('#recording-form', 'previews.periodSeconds'), '1');
  await page.click('#recording-form [data-action="save"]');
  await page.waitForSelector('#recording-form[data-save-state="saved"]');

  // The storage form, filled but not saved, then tested.
  await page.click('.tabs a[data-tab="storage"]');
  await page.waitForSelector('#storage-form');
  assert.equal(await page.isVisible(field('#storage-form', 's3.credentials.credentialId')), false, 'the credential picker shows only for stored credentials');
  await page.fill(field('#storage-form', 's3.bucket'), 'media');
  await page.fill(field('#storage-form', 's3.endpoint'), s3.endpoint);
  await page.check(field('#storage-form', 's3.forcePathStyle'));
  await page.selectOption(field('#storage-form', 's3.credentials.source'), 'stored');
  await page.selectOption(field('#storage-form', 's3.credentials.credentialId'), credentialSid);
  await page.click('[data-action="test-connection"]');
  await page.waitForSelector('#storage-report[data-state="done"]', { timeout: 30_000 });
  assert.equal(await page.getAttribute('#storage-report', 'data-ok'), 'true', String(await page.textContent('#storage-report')));
  assert.deepEqual(await attrs(page, '#storage-report li[data-step]', 'data-step'), ['bucket name', 'credentials', 'write', 'multipart', 'head', 'read', 'list', 'abort multipart', 'delete']);
  assert.deepEqual(await attrs(page, '#storage-report li[data-step]', 'data-status'), Array(9).fill('ok'));
  assert.deepEqual(await attrs(page, '#storage-report tr[data-permission]', 'data-status'), Array(6).fill('allowed'));
  assert.match(String(await page.textContent('#storage-report')), /bucket media/);
  assert.equal((await api.get('/api/v1/applications/studio')).json.settings.s3.bucket, undefined, 'testing saves nothing');

  await page.click('#storage-form [data-action="save"]');
  await page.waitForSelector('#storage-form[data-save-state="saved"]');
  assert.equal(await page.getAttribute('#app-source', 'data-source'), 'api');
  const saved = (await api.get('/api/v1/applications/studio')).json.settings.s3;
  assert.equal(saved.bucket, 'media');
  assert.equal(saved.forcePathStyle, true);
  assert.deepEqual(saved.credentials, { source: 'stored', credentialId: credentialSid });

  // A pushed stream appears live with its thumbnail.
  await markNoReload(page);
  await nav(page, 'streams');
  const pusher = push(server.rtmpUrl('studio', 'cam1'), await fixture({ seconds: 8 }));
  const card = 'article[data-stream="studio/cam1"]';
  await page.waitForSelector(`${card} img[data-thumb="loaded"]`, { timeout: 30_000 });
  const facts = String(await page.textContent(card));
  for (const s of ['RTMP', 'h264', '1280×720', 'aac', 'bit/s']) assert.ok(facts.includes(s), `${s} in ${facts}`);
  assert.equal(await page.getAttribute(card, 'data-recording'), 'on');
  const thumb = String(await page.getAttribute(`${card} img`, 'src'));
  assert.match(thumb, /^http:\/\/127\.0\.0\.1:\d+\/studio\/previews\/cam1\.jpg\?t=\d+$/, 'the live preview, cache-busted');

  // The recording appears and reaches "uploaded" while the user just watches the Recordings view.
  await nav(page, 'recordings');
  assert.equal((await pusher.done).code, 0);
  const row = await page.waitForSelector('tr[data-recording-id][data-upload-state="uploaded"]', { timeout: 90_000 });
  assert.ok(await stillNotReloaded(page), 'no reload');
  const recordingId = String(await row.getAttribute('data-recording-id'));
  const rec = (await api.get(`/api/v1/recordings/${recordingId}`)).json;
  assert.equal(rec.uploadState, 'uploaded');
  const mp4 = rec.files.find((f: { kind: string }) => f.kind === 'mp4');
  await page.click(`tr[data-recording-id="${recordingId}"] [data-action="details"]`);
  const fileRow = await page.waitForSelector(`tr[data-file="${mp4.name}"][data-state="uploaded"]`);
  assert.ok((await fileRow.textContent())!.includes(`s3://media/${mp4.key}`), 'the files list names the object');
  assert.ok((await s3.listObjects('media')).some((o) => o.key === mp4.key));
  assert.equal(existsSync(path.join(server.dataDir, 'studio', 'streams', mp4.name)), false, 'primary mode: played from the bucket');

  // Play opens the player for that recording, which plays it.
  const playHref = String(await page.getAttribute(`tr[data-recording-id="${recordingId}"] [data-action="play"]`, 'href'));
  assert.equal(playHref, `/play.html?app=studio&name=${rec.name}`);
  const played = await playUntilFiveSeconds(browser, `${server.httpUrl}${playHref}`);
  assert.ok(played.currentTime > 5, JSON.stringify(played));
  assert.equal(played.errors, 0);
  assert.deepEqual(played.pageErrors, []);
  assert.equal(String(await page.getAttribute(`tr[data-recording-id="${recordingId}"] [data-action="download"]`, 'href')), `/studio/streams/${mp4.name}`);

  // Filters.
  await page.selectOption('#recording-filters select[name="app"]', 'studio');
  await page.selectOption('#recording-filters select[name="state"]', 'failed');
  await page.click('#recording-filters button[type="submit"]');
  await page.waitForSelector('#recordings td.empty');
  assert.match(String(await page.textContent('#recordings-count')), /^0 recordings/);
  await page.selectOption('#recording-filters select[name="state"]', 'uploaded');
  await page.click('#recording-filters button[type="submit"]');
  await page.waitForSelector(`tr[data-recording-id="${recordingId}"]`);
  assert.match(page.url(), /#\/recordings\?app=studio&state=uploaded$/);
  assert.deepEqual(page.errors, []);
  assert.deepEqual(page.consoleErrors, [], 'no script errors or CSP violations');
});

test('live stream actions: recording off and on, kick', async () => {
  await nav(page, 'streams');
  const pusher = push(server.rtmpUrl('live', 'cam2'), await fixture({ seconds: 8 }), { loop: true });
  try {
    const card = 'article[data-stream="live/cam2"]';
    await page.waitForSelector(`${card}[data-recording="on"]`, { timeout: 30_000 });
    // An application with a live stream is not deleted, and the panel says why.
    await nav(page, 'apps');
    await page.click('tr[data-app="live"] [data-action="delete-app"]');
    await confirm(page);
    await page.waitForSelector('#apps-list .error-box:not([hidden])');
    assert.match(String(await page.textContent('#apps-list .error-box')), /has 1 live stream/);
    await nav(page, 'streams');
    await page.waitForSelector(`${card}[data-recording="on"]`);
    await page.click(`${card} [data-action="toggle-recording"]`);
    await page.waitForSelector(`${card}[data-recording="off"]`, { timeout: 20_000 });
    assert.equal((await api.get('/api/v1/streams/live/cam2')).json.recording, null);
    await page.click(`${card} [data-action="toggle-recording"]`);
    await page.waitForSelector(`${card}[data-recording="on"]`, { timeout: 20_000 });
    await page.click(`${card} [data-action="kick"]`);
    await confirm(page);
    await page.waitForSelector(card, { state: 'detached', timeout: 20_000 });
    assert.equal((await api.get('/api/v1/streams/live/cam2')).status, 404);
  } finally {
    await pusher.stop();
  }
});

test('credentials: a credential in use is not deleted (said plainly); renaming works', async () => {
  await nav(page, 'credentials');
  const row = `tr[data-credential="${credentialSid}"]`;
  assert.match(String(await page.textContent(row)), /studio/, 'used by studio');
  await page.click(`${row} [data-action="delete"]`);
  await confirm(page);
  await page.waitForSelector('#credentials-list .error-box:not([hidden])');
  assert.match(String(await page.textContent('#credentials-list .error-box')), /is used by "studio"/);
  await page.click(`${row} [data-action="rename"]`);
  await page.fill(`${row} input`, 'renamed bucket');
  await page.click(`${row} button[type="submit"]`);
  await page.waitForSelector(`${row} td >> text="renamed bucket"`);
  assert.equal((await api.get(`/api/v1/credentials/aws/${credentialSid}`)).json.friendlyName, 'renamed bucket', 'renamed through the API');

  // Paging: 20 a page, with page tokens both ways.
  for (let i = 0; i < 21; i++) {
    const created = await api.post('/api/v1/credentials/aws', { credentials: `AKIAPAGE${i}:secret-${i}`, friendlyName: `page ${i}` });
    assert.equal(created.status, 201, created.text);
  }
  await nav(page, 'apps');
  await nav(page, 'credentials');
  await page.waitForSelector('#credentials-list >> text=Page 1');
  const first = await attrs(page, 'tr[data-credential]', 'data-credential');
  assert.equal(first.length, 20, 'first page');
  await page.click('#credentials-list button >> text=Next');
  await page.waitForSelector('#credentials-list >> text=Page 2');
  // The page label can change before the rows do: wait until page 1's rows are gone.
  await page.waitForSelector(`tr[data-credential="${first[0]}"]`, { state: 'detached' });
  const second = await attrs(page, 'tr[data-credential]', 'data-credential');
  assert.equal(second.length, 2, 'second page');
  assert.equal(new Set([...first, ...second]).size, 22, 'every credential once');
  await page.click('#credentials-list button >> text=Previous');
  await page.waitForSelector('#credentials-list >> text=Page 1');
  // The same race backwards: wait until page 2's rows are gone.
  await page.waitForSelector(`tr[data-credential="${second[0]}"]`, { state: 'detached' });
  assert.deepEqual(await attrs(page, 'tr[data-credential]', 'data-credential'), first, 'back to the first page');
});

test('publish security: a stream key with OBS\'s Server and Stream Key shown once, revoked; a signing secret; a minted token', async () => {
  await page.goto(`${server.httpUrl}/admin/#/apps/live/security`);
  await page.waitForSelector('#security-form');
  await page.selectOption(field('#security-form', 'publishSecurity.mode'), 'streamKeys');
  await page.click('#security-form [data-action="save"]');
  await page.waitForSelector('#security-form[data-save-state="saved"]');
  assert.equal((await api.get('/api/v1/applications/live')).json.settings.publishSecurity.mode, 'streamKeys');

  await page.fill('input[name="streamId"]', 'cam5');
  await page.click('[data-action="issue-key"]');
  await page.waitForSelector('#key-result input[data-copy="obs-stream-key"]');
  assert.equal(await page.inputValue('#key-result input[data-copy="obs-server"]'), `rtmp://127.0.0.1:${server.rtmpPort}/live`);
  const streamKey = await page.inputValue('#key-result input[data-copy="obs-stream-key"]');
  assert.match(streamKey, /^cam5\?key=sk_[\w-]+$/);
  await page.waitForSelector('tr[data-stream-key="cam5"]');
  assert.ok(!String(await page.textContent('tr[data-stream-key="cam5"]')).includes(streamKey.split('=')[1]), 'the list shows a hint only');
  await page.click('tr[data-stream-key="cam5"] [data-action="revoke-key"]');
  await confirm(page);
  await page.waitForSelector('tr[data-stream-key="cam5"]', { state: 'detached' });
  assert.deepEqual((await api.get('/api/v1/applications/live/stream-keys')).json.streamKeys, []);

  await page.click('[data-action="rotate-secret"]');
  const secret = await page.inputValue('#secret-result input[data-copy="signing-secret"]');
  assert.ok(secret.length >= 32);
  assert.equal((await api.get('/api/v1/applications/live/signing-secret')).json.exists, true);
  await page.fill('input[name="tokenStreamId"]', 'cam6');
  await page.click('[data-action="mint-token"]');
  const tokenKey = await page.inputValue('#token-result input[data-copy="obs-stream-key"]');
  assert.match(tokenKey, /^cam6\?token=\d+\.[0-9a-f]{64}$/);
});

test('webhooks: saved with a secret that is never shown again', async () => {
  await page.goto(`${server.httpUrl}/admin/#/apps/studio/webhooks`);
  await page.click('[data-action="add-webhook"]');
  await page.fill('[data-webhook="0"] input', 'http://127.0.0.1:9/hooks/bucketcast');
  await page.fill('[data-webhook="0"] input[type="password"]', 'a-webhook-secret-of-some-length');
  await page.uncheck('[data-webhook="0"] input[value="liveStreamStarted"]');
  await page.click('#webhooks-form [data-action="save"]');
  await page.waitForSelector('#webhooks-form[data-save-state="saved"]');
  const hooks = (await api.get('/api/v1/applications/studio')).json.settings.webhooks;
  assert.equal(hooks.length, 1);
  assert.equal(hooks[0].hasSecret, true);
  assert.ok(!hooks[0].events.includes('liveStreamStarted'));
  assert.equal(await page.inputValue('[data-webhook="0"] input[type="password"]'), '');
  assert.ok(!(await page.content()).includes('a-webhook-secret-of-some-length'));
  await page.click('[data-webhook="0"] [data-action="ping"]');
  await page.waitForSelector('.toast >> text=Ping queued');
  await page.click('#deliveries-title + button');
  await page.waitForSelector('tr[data-delivery]');
  assert.match(String(await page.textContent('tr[data-delivery]')), /ping/);
});

test('webhooks: every event the schema knows has a box, so saving in the panel keeps recordingPartUploaded', async () => {
  const patched = await api.patch('/api/v1/applications/studio', {
    webhooks: [{ url: 'http://127.0.0.1:9/hooks/parts', secret: 'a-webhook-secret-of-some-length', events: ['recordingPartUploaded', 'uploadFailed'] }],
  });
  assert.equal(patched.status, 200);
  await page.goto(`${server.httpUrl}/admin/#/apps/studio/recording`);
  await page.click('.tabs a[data-tab="webhooks"]');
  await page.waitForSelector('[data-webhook="0"]');
  assert.equal(await page.isChecked('[data-webhook="0"] input[value="recordingPartUploaded"]'), true);
  assert.equal(await page.isChecked('[data-webhook="0"] input[value="recordingReady"]'), false);
  await page.click('#webhooks-form [data-action="save"]');
  await page.waitForSelector('#webhooks-form[data-save-state="saved"]');
  const hooks = (await api.get('/api/v1/applications/studio')).json.settings.webhooks;
  assert.equal(hooks.length, 1);
  assert.deepEqual([...hooks[0].events].sort(), ['recordingPartUploaded', 'uploadFailed']);
  assert.equal(hooks[0].hasSecret, true, 'the secret kept');
  assert.deepEqual(page.errors, []);
});

test('account: an API token is shown once and works until revoked', async () => {
  await nav(page, 'account');
  await page.fill('input[name="name"]', 'ci');
  await page.click('[data-action="create-token"]');
  const token = String(await page.inputValue('[data-secret-once] input[data-copy="api-token"]'));
  assert.match(token, /^bct_/);
  const bearer = new ApiClient(server.httpUrl, { token });
  assert.equal((await bearer.get('/api/v1/server')).status, 200);
  await page.click('tr[data-token] [data-action="revoke-token"]');
  await confirm(page);
  await page.waitForSelector('tr[data-token]', { state: 'detached' });
  assert.equal((await bearer.get('/api/v1/server')).status, 401);
});

test('account: changing the password keeps this session and ends the others', async () => {
  await nav(page, 'account');
  await page.fill('#password-form input[name="currentPassword"]', ADMIN_PASSWORD);
  await page.fill('#password-form input[name="newPassword"]', 'a-new-admin-password-1');
  await page.fill('#password-form input[name="confirm"]', 'a-new-admin-password-2');
  await page.click('[data-action="change-password"]');
  assert.match(await fieldError(page, '#password-form', 'confirm'), /does not match/);
  await page.fill('#password-form input[name="confirm"]', 'a-new-admin-password-1');
  await page.click('[data-action="change-password"]');
  await page.waitForSelector('.toast >> text=Password changed');
  assert.equal((await api.get('/api/v1/server')).status, 401, 'the other session ended');
  assert.equal((await new ApiClient(server.httpUrl).post('/api/v1/auth/login', { password: 'a-new-admin-password-1' })).status, 200);
  api = await login(server, 'a-new-admin-password-1');
  await nav(page, 'apps');
  assert.equal(await page.getAttribute('body', 'data-session'), 'in');
});

test('applications: deleting one removes it from the list', async () => {
  await nav(page, 'apps');
  await page.click('tr[data-app="studio"] [data-action="delete-app"]');
  await confirm(page);
  await page.waitForSelector('tr[data-app="studio"]', { state: 'detached' });
  assert.equal((await api.get('/api/v1/applications/studio')).status, 404);
  assert.deepEqual(page.errors, []);
  assert.deepEqual(page.consoleErrors, []);
});
