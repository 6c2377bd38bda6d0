/**
 * Stored AWS credentials (after Twilio's AWS Credential resource)
 * and storage validation through the API: create from form or JSON, fetch,
 * page through with Twilio-style `meta`, rename, delete (409 while used);
 * bad input is a 422 naming the field; the secret never appears in an answer
 * or a log line; "Test connection" runs each validation step against a real
 * S3 server with a stored credential, for saved and unsaved settings.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startServer, type TestServer } from '../helpers/server.js';
import { startS3Target, type S3TestTarget } from '../helpers/s3.js';
import { ApiClient, adminEnv, allOutput, login } from '../helpers/api.js';

let server: TestServer;
let s3: S3TestTarget;
let writeOnly: { accessKeyId: string; secretAccessKey: string };
let api: ApiClient;
const secrets: string[] = [];
const newSecret = () => {
  const s = `sEcReT${randomBytes(12).toString('hex')}`;
  secrets.push(s);
  return s;
};

before(async () => {
  s3 = await startS3Target();
  await s3.createBucket('media');
  writeOnly = await s3.grant('media', { actions: ['s3:PutObject'] });
  server = await startServer({ env: adminEnv(), config: { applications: [{ name: 'live', s3RecordingEnabled: false }] } });
  api = await login(server);
});
after(async () => {
  await server.stop();
  server.cleanup();
  await s3.cleanup();
});

test('create (form-encoded as Twilio, or JSON), fetch, rename; the answer has a CR id and a key hint, never the secret', async () => {
  const secret = newSecret();
  const form = await api.request('POST', '/api/v1/credentials/aws', { form: { Credentials: `AKIAIOSFODNN7EXAMPLE:${secret}`, FriendlyName: 'prod bucket' } });
  assert.equal(form.status, 201, form.text);
  assert.match(form.json.sid, /^CR[0-9a-f]{32}$/);
  assert.equal(form.json.friendlyName, 'prod bucket');
  assert.equal(form.json.accessKeyIdHint, 'AKIA…MPLE');
  assert.equal(form.json.url, `/api/v1/credentials/aws/${form.json.sid}`);
  assert.equal(form.headers.get('location'), form.json.url);
  assert.deepEqual(form.json.usedBy, []);
  const json = await api.post('/api/v1/credentials/aws', { credentials: `AKIAJSONEXAMPLE0001:${newSecret()}`, friendlyName: 'json' });
  assert.equal(json.status, 201);
  const fetched = await api.get(form.json.url);
  assert.deepEqual(fetched.json, form.json);
  const renamed = await api.post(form.json.url, { friendlyName: 'renamed' });
  assert.equal(renamed.status, 200);
  assert.equal(renamed.json.friendlyName, 'renamed');
  const patched = await api.request('PATCH', form.json.url, { form: { FriendlyName: 'patched' } });
  assert.equal(patched.json.friendlyName, 'patched');
  assert.ok(Date.parse(patched.json.dateUpdated) >= Date.parse(patched.json.dateCreated));
  assert.equal((await api.get('/api/v1/credentials/aws/CR' + '0'.repeat(32))).status, 404);
  assert.equal((await api.get('/api/v1/credentials/aws/not-a-sid')).status, 404);
});

test('bad input: a 422 naming the field (never echoing the secret), and nothing is stored', async () => {
  const before = (await api.get('/api/v1/credentials/aws?pageSize=1000')).json.credentials.length;
  const secret = newSecret();
  const cases: Array<[Record<string, string> | object, RegExp, boolean]> = [
    [{ credentials: `no-colon-${secret}` }, /^credentials: credentials must be "<AWS_ACCESS_KEY_ID>:<AWS_SECRET_ACCESS_KEY>"/, false],
    [{ credentials: `AKIAOKAY00000001:${secret}`, friendlyName: 'x'.repeat(65) }, /^friendlyName: must be at most 64 characters$/, false],
    [{ friendlyName: 'no credentials' }, /^credentials: required$/, false],
    [{ credentials: `AKIAOKAY00000001:${secret}`, region: 'eu-west-1' }, /^region: unknown field$/, false],
    [{ credentials: 42 }, /^credentials: must be a string$/, false],
  ];
  for (const [body, message] of cases) {
    const res = await api.post('/api/v1/credentials/aws', body);
    assert.equal(res.status, 422, JSON.stringify(body));
    assert.match(res.json.error.message, message);
    assert.ok(!res.text.includes(secret), 'the error does not repeat the secret');
  }
  const formBad = await api.request('POST', '/api/v1/credentials/aws', { form: { Credentials: 'AKIAONLYKEY' } });
  assert.equal(formBad.status, 422);
  const broken = await api.request('POST', '/api/v1/credentials/aws', { raw: { contentType: 'application/json', data: `{"credentials": "AKIAOKAY00000001:${secret}` } });
  assert.equal(broken.status, 400);
  assert.equal(broken.json.error.code, 'invalid_json');
  assert.ok(!broken.text.includes(secret), 'the parse error does not quote the body');
  const text = await api.request('POST', '/api/v1/credentials/aws', { raw: { contentType: 'text/plain', data: 'AKID:SECRET' } });
  assert.equal(text.status, 415);
  const sid = (await api.get('/api/v1/credentials/aws')).json.credentials[0].sid;
  const longName = await api.post(`/api/v1/credentials/aws/${sid}`, { friendlyName: 'y'.repeat(65) });
  assert.equal(longName.status, 422);
  assert.equal((await api.post(`/api/v1/credentials/aws/${sid}`, {})).status, 422, 'an update needs friendlyName');
  assert.notEqual((await api.get(`/api/v1/credentials/aws/${sid}`)).json.friendlyName, 'y'.repeat(65));
  assert.equal((await api.get('/api/v1/credentials/aws?pageSize=1000')).json.credentials.length, before, 'nothing stored');
});

test('list pages with pageSize and page tokens; meta has next and previous page URLs that can be followed', async () => {
  for (let i = 0; i < 5; i++) await api.post('/api/v1/credentials/aws', { credentials: `AKIAPAGE0000000${i}:${newSecret()}`, friendlyName: `page ${i}` });
  const all = (await api.get('/api/v1/credentials/aws?pageSize=1000')).json.credentials.map((c: { sid: string }) => c.sid);
  assert.ok(all.length >= 7);
  const seen: string[] = [];
  let url: string | null = '/api/v1/credentials/aws?pageSize=3';
  const pages: any[] = [];
  while (url) {
    const page: any = (await api.get(url)).json;
    pages.push(page);
    assert.ok(page.credentials.length <= 3);
    assert.equal(page.meta.key, 'credentials');
    assert.equal(page.meta.pageSize, 3);
    seen.push(...page.credentials.map((c: { sid: string }) => c.sid));
    url = page.meta.nextPageUrl;
  }
  assert.deepEqual(seen, all, 'every credential once, in order');
  assert.equal(pages[0].meta.previousPageUrl, null);
  assert.equal(pages[0].meta.page, 0);
  assert.equal(pages[1].meta.page, 1);
  assert.equal(pages[0].meta.firstPageUrl, '/api/v1/credentials/aws?pageSize=3&page=0');
  const back: any = (await api.get(pages[1].meta.previousPageUrl)).json;
  assert.deepEqual(back.credentials, pages[0].credentials, 'previous page of page 1 is page 0');
  assert.equal((await api.get('/api/v1/credentials/aws?PageSize=2')).json.credentials.length, 2, "Twilio's parameter names");
  for (const q of ['pageSize=0', 'pageSize=1001', 'pageSize=ten', 'pageToken=garbage']) {
    const res = await api.get(`/api/v1/credentials/aws?${q}`);
    assert.equal(res.status, 400, q);
    assert.equal(res.json.error.code, 'invalid_parameter');
  }
});

test('storage validation ("Test connection") with a stored credential: every step for saved and unsaved settings', async () => {
  const good = await api.post('/api/v1/credentials/aws', { credentials: `${s3.credentials.accessKeyId}:${s3.credentials.secretAccessKey}`, friendlyName: 's3rver' });
  const s3Settings = (credentialId: string, bucket = 'media') => ({ bucket, endpoint: s3.endpoint, forcePathStyle: true, credentials: { source: 'stored', credentialId } });
  // Unsaved settings first: nothing is saved.
  const candidate = await api.post('/api/v1/applications/live/storage/validate', { s3RecordingEnabled: true, s3: s3Settings(good.json.sid) });
  assert.equal(candidate.status, 200, candidate.text);
  assert.equal(candidate.json.ok, true, candidate.json.summary);
  assert.deepEqual(candidate.json.steps.map((s: { step: string; status: string }) => `${s.step}:${s.status}`), ['bucket name:ok', 'credentials:ok', 'write:ok', 'multipart:ok', 'head:ok', 'read:ok', 'list:ok', 'abort multipart:ok', 'delete:ok']);
  assert.match(candidate.json.target.credentials, new RegExp(`stored credential ${good.json.sid}`));
  assert.equal((await api.get('/api/v1/applications/live')).json.settings.s3.bucket, undefined, 'a test does not save');
  const invalid = await api.post('/api/v1/applications/live/storage/validate', { s3: { bucket: 'x' } });
  assert.equal(invalid.status, 422);
  assert.match(invalid.json.error.message, /s3\.bucket/);
  // Missing bucket: a failed step, not an error.
  const missing = await api.post('/api/v1/applications/live/storage/validate', { s3: s3Settings(good.json.sid, 'no-such-bucket') });
  assert.equal(missing.status, 200);
  assert.equal(missing.json.ok, false);
  const write = missing.json.steps.find((s: { step: string }) => s.step === 'write');
  assert.equal(write.status, 'failed');
  assert.equal(write.code, 'bucket_not_found');
  // Write-only credentials: uploads work, the rest is denied.
  const wo = await api.post('/api/v1/credentials/aws', { credentials: `${writeOnly.accessKeyId}:${writeOnly.secretAccessKey}`, friendlyName: 'write only' });
  const denied = await api.post('/api/v1/applications/live/storage/validate', { s3: s3Settings(wo.json.sid) });
  assert.equal(denied.json.ok, true);
  assert.deepEqual(denied.json.steps.map((s: { step: string; status: string }) => `${s.step}:${s.status}`), ['bucket name:ok', 'credentials:ok', 'write:ok', 'multipart:ok', 'head:denied', 'read:denied', 'list:denied', 'abort multipart:denied', 'delete:denied']);
  // Saved settings.
  assert.equal((await api.patch('/api/v1/applications/live', { s3: s3Settings(good.json.sid) })).status, 200);
  const saved = await api.post('/api/v1/applications/live/storage/validate');
  assert.equal(saved.json.ok, true);
  assert.equal((await api.post('/api/v1/applications/ghost/storage/validate')).status, 404);
  assert.deepEqual((await api.get(good.json.url)).json.usedBy, ['live']);
});

test('a credential an app uses cannot be deleted (409, nothing changes); an unused one can', async () => {
  const used = (await api.get('/api/v1/applications/live')).json.settings.s3.credentials.credentialId as string;
  const refused = await api.delete(`/api/v1/credentials/aws/${used}`);
  assert.equal(refused.status, 409);
  assert.equal(refused.json.error.code, 'credential_in_use');
  assert.match(refused.json.error.message, /"live"/);
  assert.equal((await api.get(`/api/v1/credentials/aws/${used}`)).status, 200);
  assert.equal((await api.patch('/api/v1/applications/live', { s3: null })).status, 200);
  assert.equal((await api.delete(`/api/v1/credentials/aws/${used}`)).status, 204);
  assert.equal((await api.get(`/api/v1/credentials/aws/${used}`)).status, 404);
  assert.equal((await api.delete(`/api/v1/credentials/aws/${used}`)).status, 404);
});

test('no secret in any answer or log line', () => {
  assert.ok(secrets.length > 5);
  const answers = ApiClient.seen.join('\n');
  const logs = allOutput(server);
  for (const s of [...secrets, writeOnly.secretAccessKey]) {
    assert.ok(!answers.includes(s), 'not in an answer');
    assert.ok(!logs.includes(s), 'not in a log line');
  }
});
