/**
 * The panel when things go wrong, in headless Chromium: a wrong
 * login says so and repeated ones show the lockout; invalid settings show
 * their problems next to the fields and save nothing; a failed upload (the
 * bucket does not exist) is shown plainly, and "Retry" after the fix brings
 * it to uploaded; deleting when the bucket refuses offers to keep the
 * objects; the session ending elsewhere returns the panel to the login view.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.js';
import { credentialEnv, startS3Target, type S3TestTarget } from '../helpers/s3.js';
import { ALL_ACTIONS } from '../helpers/s3-policy.js';
import { fixture } from '../helpers/fixtures.js';
import { push } from '../helpers/media.js';
import { ADMIN_PASSWORD, ApiClient, adminEnv, login } from '../helpers/api.js';
import { launchChromium, type TestBrowser } from '../helpers/player-browser.js';
import { confirm, field, fieldError, logIn, markNoReload, nav, openPanel, sessionCookie, stillNotReloaded, type PanelPage } from '../helpers/panel.js';

let server: TestServer;
const servers: TestServer[] = [];
let serverOptions: Parameters<typeof startServer>[0];
let s3: S3TestTarget;
let browser: TestBrowser;
let api: ApiClient;
let page: PanelPage;

before(async () => {
  s3 = await startS3Target();
  // Everything but DeleteObject, on a bucket that does not exist yet.
  const keys = await s3.grant('late', { actions: ALL_ACTIONS.filter((a) => a !== 's3:DeleteObject') });
  serverOptions = {
    env: adminEnv(credentialEnv(s3, keys)),
    config: {
      api: { login: { maxFailuresPerUser: 3, maxFailuresPerIp: 100, lockoutSeconds: 120 } },
      applications: [{ name: 'live', s3: { bucket: 'late', endpoint: s3.endpoint, forcePathStyle: true } }],
      storage: { retryMaxDelaySeconds: 2 },
    },
  };
  server = await startServer(serverOptions);
  servers.push(server);
  api = await login(server);
  browser = await launchChromium();
  page = await openPanel(browser, server);
});
after(async () => {
  await browser?.close();
  for (const s of servers) {
    await s.stop();
    s.cleanup();
  }
  await s3?.cleanup();
});

test('a wrong login says so; repeated failures show the lockout and keep the button disabled', async () => {
  await page.fill('#login-form input[name="username"]', 'intruder');
  await page.fill('#login-form input[name="password"]', 'guess-1');
  await page.click('#login-submit');
  await page.waitForSelector('#login-error:not([hidden])');
  assert.equal(await page.textContent('#login-error'), 'Wrong user name or password.');
  assert.match(String(await page.textContent('#login-hint')), /BUCKETCAST_ADMIN_PASSWORD.*admin-password\.txt/s, 'where the first password comes from');
  for (const guess of ['guess-2', 'guess-3']) {
    await page.fill('#login-form input[name="password"]', guess);
    await page.click('#login-submit');
    await page.waitForSelector('#login-submit:not([aria-busy])');
  }
  await page.waitForSelector('#login-error[data-locked="true"]');
  assert.match(String(await page.textContent('#login-error')), /Too many failed attempts: logging in is locked for [12]:\d\d/);
  assert.equal(await page.isDisabled('#login-submit'), true);
  assert.equal(await page.getAttribute('body', 'data-session'), 'out');

  // The lockout is the user name's: the admin logs in (after a reload, which clears the countdown).
  await page.reload();
  await page.waitForSelector('body[data-session="out"]');
  await logIn(page);
  assert.deepEqual(page.errors, []);
});

test('invalid settings show their problems next to the fields and save nothing', async () => {
  await page.goto(`${server.httpUrl}/admin/#/apps/live/forwarding`);
  const form = '#forwarding-form';
  await page.waitForSelector(form);
  await page.selectOption(field(form, 'httpForwardingMode'), 'redirect');
  await page.fill(field(form, 'httpForwardingBaseURL'), '');
  await page.fill(field(form, 'cors.allowedOrigins'), 'https://ok.example.com\nexample.com/player');
  await page.click(`${form} [data-action="save"]`);
  await page.waitForSelector(`${form}[data-save-state="invalid"]`);
  assert.match(await fieldError(page, form, 'httpForwardingBaseURL'), /redirect mode needs httpForwardingBaseURL/);
  assert.match(await fieldError(page, form, 'cors.allowedOrigins'), /must be "\*" or an origin/);
  assert.equal(await page.getAttribute(field(form, 'httpForwardingBaseURL'), 'aria-invalid'), 'true');
  assert.match(String(await page.textContent(`${form} .error-box`)), /Nothing was saved\. 2 fields need attention/);
  assert.equal(await page.inputValue(field(form, 'httpForwardingMode')), 'redirect', 'the unsaved values stay in the form');

  await page.click('.tabs a[data-tab="storage"]');
  await page.waitForSelector('#storage-form');
  // A credential made from the storage form's dialog is selected there (a bad one is refused in the dialog).
  await page.selectOption(field('#storage-form', 's3.credentials.source'), 'stored');
  await page.click('[data-action="new-credential"]');
  await page.fill('dialog[open] input[name="secretAccessKey"]', 'dialog-secret');
  await page.click('dialog[open] [data-action="create-credential"]');
  await page.waitForSelector('dialog[open] [data-error-for="credentials"]:not(:empty)');
  assert.match(String(await page.textContent('dialog[open] [data-error-for="credentials"]')), /AWS_ACCESS_KEY_ID/);
  await page.fill('dialog[open] input[name="friendlyName"]', 'from the dialog');
  await page.fill('dialog[open] input[name="accessKeyId"]', 'AKIADIALOG');
  await page.fill('dialog[open] input[name="secretAccessKey"]', 'dialog-secret');
  await page.click('dialog[open] [data-action="create-credential"]');
  await page.waitForSelector('dialog[open]', { state: 'detached' });
  // The list of credentials is read again after the dialog closes, then the new one selected.
  await page.waitForFunction((sel) => /^CR/.test((document.querySelector(sel) as HTMLSelectElement | null)?.value ?? ''), field('#storage-form', 's3.credentials.credentialId'));
  const sid = await page.inputValue(field('#storage-form', 's3.credentials.credentialId'));
  assert.match(sid, /^CR[0-9a-f]{32}$/);
  assert.equal((await api.get(`/api/v1/credentials/aws/${sid}`)).json.friendlyName, 'from the dialog');

  await page.fill(field('#storage-form', 's3.bucket'), 'Bad Bucket!');
  await page.fill(field('#storage-form', 's3.keyTemplates.streams'), 'streams/{nope}.mp4');
  await page.click('[data-action="test-connection"]');
  await page.waitForSelector('#storage-form [data-error-for="s3.bucket"]:not(:empty)');
  assert.match(await fieldError(page, '#storage-form', 's3.bucket'), /7-bit ASCII|3 to 255 characters/);
  assert.match(await fieldError(page, '#storage-form', 's3.keyTemplates.streams'), /unknown token \{nope\}/);
  assert.equal(await page.isVisible('#storage-report'), false, 'no report for settings that do not validate');
  await page.click('#storage-form [data-action="save"]');
  await page.waitForSelector('#storage-form[data-save-state="invalid"]');

  await page.click('.tabs a[data-tab="webhooks"]');
  await page.click('[data-action="add-webhook"]');
  await page.fill('[data-webhook="0"] input', 'not a url');
  await page.click('#webhooks-form [data-action="save"]');
  await page.waitForSelector('#webhooks-form[data-save-state="invalid"]');
  assert.match(String(await page.textContent('[data-webhook="0"] [data-error-for="url"]')), /absolute http\(s\) URL/);
  assert.match(String(await page.textContent('[data-webhook="0"] [data-error-for="secret"]')), /required/);

  const live = (await api.get('/api/v1/applications/live')).json;
  assert.equal(live.source, 'config', 'nothing was saved');
  assert.equal(live.settings.httpForwardingMode, 'auto');
  assert.equal(live.settings.s3.bucket, 'late');
  assert.deepEqual(live.settings.webhooks, []);
  assert.deepEqual(page.errors, []);
});

test('a failed upload is shown plainly; Retry after the fix brings it to uploaded; deleting offers to keep objects the bucket will not delete', async () => {
  await nav(page, 'recordings');
  await markNoReload(page);
  const pusher = push(server.rtmpUrl('live', 'cam9'), await fixture({ seconds: 3 }));
  assert.equal((await pusher.done).code, 0);
  const failed = await page.waitForSelector('tr[data-recording-id][data-upload-state="failed"]', { timeout: 60_000 });
  const id = String(await failed.getAttribute('data-recording-id'));
  const row = `tr[data-recording-id="${id}"]`;
  await page.waitForSelector(`${row} [data-upload-error="bucket_not_found"]`);
  assert.match(String(await page.textContent(`${row} [data-upload-error]`)), /^Upload failed: .*late.* does not exist.*create it or fix s3\.bucket/);
  assert.equal(await page.isVisible(`${row} [data-action="retry"]`), true);

  await s3.createBucket('late');
  await page.click(`${row} [data-action="retry"]`);
  await page.waitForSelector(`${row}[data-upload-state="uploaded"]`, { timeout: 60_000 });
  assert.equal(await page.isVisible(`${row} [data-action="retry"]`), false);
  assert.ok(await stillNotReloaded(page));
  const objects = await s3.listObjects('late');
  assert.ok(objects.some((o) => o.key.endsWith('.mp4')));

  await page.click(`${row} [data-action="delete"]`);
  await confirm(page);
  await page.waitForSelector('dialog[open] >> text=The bucket refused to delete the objects');
  assert.match(String(await page.textContent('dialog[open]')), /Nothing was deleted/);
  await confirm(page);
  await page.waitForSelector(row, { state: 'detached' });
  assert.equal((await api.get(`/api/v1/recordings/${id}`)).status, 404);
  assert.deepEqual((await s3.listObjects('late')).map((o) => o.key), objects.map((o) => o.key), 'the objects were kept');
  assert.deepEqual(page.consoleErrors, []);
});

test('the events channel shows the server going away, reconnects with backoff, and the session survives a restart', async () => {
  await nav(page, 'streams');
  await page.waitForSelector('#conn[data-state="connected"]');
  const port = server.httpPort;
  await server.stop();
  await page.waitForSelector('#conn[data-state="reconnecting"]', { timeout: 15_000 });
  assert.match(String(await page.textContent('#conn')), /Reconnecting/);
  await page.waitForSelector('main .error-box:not([hidden])', { timeout: 15_000 });
  assert.match(String(await page.textContent('main .error-box')), /cannot be reached/, 'the view says the server is gone');
  server = await startServer({ ...serverOptions, dataDir: server.dataDir, env: { ...serverOptions!.env, BUCKETCAST_HTTP_PORT: String(port) } });
  servers.push(server);
  api = await login(server);
  await page.waitForSelector('#conn[data-state="connected"]', { timeout: 60_000 });
  assert.equal(await page.getAttribute('body', 'data-session'), 'in', 'the session is kept across the restart');
  await page.waitForSelector('main .error-box[hidden]', { state: 'attached', timeout: 15_000 });
  assert.deepEqual(page.errors, []);
});

test('the session ending elsewhere returns the panel to the login view; logging in again comes back to the same view', async () => {
  await nav(page, 'account');
  const cookie = await sessionCookie(page);
  const same = new ApiClient(server.httpUrl, { cookie });
  same.auth.csrf = (await same.get('/api/v1/auth/me')).json.csrfToken;
  assert.equal((await same.post('/api/v1/auth/logout')).status, 204);
  // No click: the events channel is closed by the server (4401) at its next check (every 25 s).
  await page.waitForSelector('body[data-session="out"]', { timeout: 45_000 });
  assert.match(String(await page.textContent('#login-reason')), /session ended/);
  assert.equal(await page.getAttribute('#conn', 'data-state'), 'offline');
  await page.fill('#login-form input[name="password"]', ADMIN_PASSWORD);
  await page.click('#login-submit');
  await page.waitForSelector('body[data-session="in"][data-view="account"]');

  // And an action after the session ended elsewhere goes to the login view at once.
  const again = new ApiClient(server.httpUrl, { cookie: await sessionCookie(page) });
  again.auth.csrf = (await again.get('/api/v1/auth/me')).json.csrfToken;
  await again.post('/api/v1/auth/logout');
  await page.click('#nav a[data-nav="apps"]');
  await page.waitForSelector('body[data-session="out"]', { timeout: 10_000 });
  assert.deepEqual(page.errors, []);
});
