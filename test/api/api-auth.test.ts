/**
 * Authentication: the admin account from BUCKETCAST_ADMIN_PASSWORD
 * or a generated password printed once; login with cookie attributes; the
 * CSRF rule; API tokens; expired and ended sessions; password change; login
 * throttling per address and per user with lockout; no password, token or
 * session id in any log line.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startServer, type TestServer } from '../helpers/server.js';
import { ADMIN_PASSWORD, ApiClient, adminEnv, allOutput, login } from '../helpers/api.js';

const LOCKOUT_SECONDS = 3;
let server: TestServer;

before(async () => {
  server = await startServer({
    env: adminEnv(),
    config: {
      applications: [{ name: 'live', s3RecordingEnabled: false }],
      api: { login: { maxFailuresPerIp: 4, maxFailuresPerUser: 8, windowSeconds: 600, lockoutSeconds: LOCKOUT_SECONDS } },
    },
  });
});
after(async () => {
  await server.stop();
  server.cleanup();
});

/** Login attempt from a given client address (through the loopback proxy express trusts). */
function attempt(password: string, ip: string, base = server.httpUrl) {
  return new ApiClient(base).post('/api/v1/auth/login', { username: 'admin', password }, { headers: { 'x-forwarded-for': ip } });
}

test('the first start generates an admin password into a 0600 file (never the log), which must be changed at the first login', async () => {
  const first = await startServer();
  let dataDir = first.dataDir;
  try {
    const lines = first.logs.filter((l) => typeof l.passwordFile === 'string');
    assert.equal(lines.length, 1);
    assert.equal(lines[0].level, 'warn');
    const file = String(lines[0].passwordFile);
    assert.equal(file, path.join(first.dataDir, 'admin-password.txt'));
    assert.equal(statSync(file).mode & 0o777, 0o600, 'the password file is readable by the server user only');
    const generated = readFileSync(file, 'utf8').trim();
    assert.ok(generated.length >= 20);
    assert.ok(!allOutput(first).includes(generated), 'the password is in no log line');
    const session = await login(first, generated);
    assert.equal((await session.get('/api/v1/auth/me')).json.mustChangePassword, true);
    const blocked = await session.get('/api/v1/streams');
    assert.equal(blocked.status, 403);
    assert.equal(blocked.json.error.code, 'password_change_required');
    const changed = await session.post('/api/v1/auth/password', { currentPassword: generated, newPassword: ADMIN_PASSWORD });
    assert.equal(changed.status, 200);
    assert.ok(!existsSync(file), 'the file of the generated password is removed once it is changed');
    assert.equal((await session.get('/api/v1/streams')).status, 200, 'everything answers after the change');
    await first.stop();
    // A restart (even with BUCKETCAST_ADMIN_PASSWORD now set) keeps the account and writes nothing.
    const again = await startServer({ dataDir, env: adminEnv({ BUCKETCAST_ADMIN_PASSWORD: 'another-long-password-0001' }) });
    dataDir = again.dataDir;
    try {
      assert.ok(!again.logs.some((l) => 'passwordFile' in l), 'no new password');
      assert.ok(again.logs.some((l) => /BUCKETCAST_ADMIN_PASSWORD ignored/.test(String(l.msg))));
      assert.equal((await attempt(generated, '192.0.2.200', again.httpUrl)).status, 401);
      assert.equal((await attempt(ADMIN_PASSWORD, '192.0.2.200', again.httpUrl)).status, 200);
    } finally {
      await again.stop();
      again.cleanup();
    }
  } finally {
    await first.stop();
    first.cleanup();
  }
});

test('login sets an HttpOnly SameSite=Strict cookie (Secure behind TLS) and answers the CSRF token', async () => {
  const res = await attempt(ADMIN_PASSWORD, '192.0.2.1');
  assert.equal(res.status, 200);
  assert.equal(res.json.user.username, 'admin');
  assert.match(res.json.csrfToken, /^[\w-]{40,}$/);
  const cookie = res.headers.get('set-cookie')!;
  assert.match(cookie, /^bucketcast_session=[\w-]{40,};/);
  assert.match(cookie, /; HttpOnly/);
  assert.match(cookie, /; SameSite=Strict/);
  assert.doesNotMatch(cookie, /Secure/, 'plain HTTP: no Secure flag');
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const tls = await new ApiClient(server.httpUrl).post('/api/v1/auth/login', { password: ADMIN_PASSWORD }, { headers: { 'x-forwarded-proto': 'https', 'x-forwarded-for': '192.0.2.1' } });
  assert.equal(tls.status, 200, 'username defaults to admin');
  assert.match(tls.headers.get('set-cookie')!, /^__Host-bucketcast_session=[\w-]{40,};.*; Secure/, 'behind a TLS-terminating proxy on loopback: Secure, __Host- prefix');

  const wrong = await attempt('not-the-password', '192.0.2.2');
  assert.equal(wrong.status, 401);
  assert.equal(wrong.json.error.code, 'invalid_credentials');
  assert.equal(wrong.headers.get('set-cookie'), null);
  const form = await new ApiClient(server.httpUrl).request('POST', '/api/v1/auth/login', { form: { username: 'admin', password: ADMIN_PASSWORD } });
  assert.equal(form.status, 415, 'a cross-site form cannot log anyone in');
  const foreign = await new ApiClient(server.httpUrl).post('/api/v1/auth/login', { password: ADMIN_PASSWORD }, { headers: { origin: 'https://evil.example' } });
  assert.equal(foreign.status, 403);
  assert.equal(foreign.json.error.code, 'origin_mismatch');
  const missing = await new ApiClient(server.httpUrl).post('/api/v1/auth/login', { username: 'admin' });
  assert.equal(missing.status, 422);
  assert.match(missing.json.error.message, /password: required/);
  const malformed = await new ApiClient(server.httpUrl).request('POST', '/api/v1/auth/login', { raw: { contentType: 'application/json', data: '{"password":' } });
  assert.equal(malformed.status, 400);
  assert.equal(malformed.json.error.code, 'invalid_json');
});

test('every route but login and the OpenAPI document needs authentication', async () => {
  const anon = new ApiClient(server.httpUrl);
  for (const [method, p] of [
    ['GET', '/api/v1/applications'],
    ['GET', '/api/v1/auth/me'],
    ['POST', '/api/v1/auth/logout'],
    ['GET', '/api/v1/streams'],
    ['GET', '/api/v1/recordings'],
    ['POST', '/api/v1/credentials/aws'],
    ['DELETE', '/api/v1/applications/live'],
    ['GET', '/api/v1/no-such-route'],
    ['GET', '/metrics'],
  ]) {
    const res = await anon.request(method, p);
    assert.equal(res.status, 401, `${method} ${p}`);
    assert.equal(res.json.error.code, 'unauthenticated');
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
  }
  const doc = await anon.get('/api/v1/openapi.json');
  assert.equal(doc.status, 200);
  assert.equal(doc.json.openapi, '3.1.0');
  const session = await login(server);
  assert.equal((await session.get('/api/v1/no-such-route')).status, 404);
  assert.equal((await session.get('/api/v1/events')).status, 426, 'a plain GET of the events channel');
  assert.equal((await session.get('/api/v1/server')).json.rtmpPort, server.rtmpPort);
});

test('every documented route: 401 without credentials or with a bad token; state-changing ones 403 with a session but no CSRF header', async () => {
  const doc = (await new ApiClient(server.httpUrl).get('/api/v1/openapi.json')).json as { paths: Record<string, Record<string, { security?: unknown[] }>> };
  const session = await login(server);
  let checked = 0;
  for (const [p, ops] of Object.entries(doc.paths)) {
    const url = p.replace(/\{(\w+)\}/g, (_m, name: string) => (name === 'sid' ? `CR${'0'.repeat(32)}` : name === 'name' || name === 'app' ? 'live' : 'x'));
    for (const [method, op] of Object.entries(ops)) {
      if (Array.isArray(op.security) && op.security.length === 0) continue;
      const m = method.toUpperCase();
      const anon = await new ApiClient(server.httpUrl).request(m, url);
      assert.equal(anon.status, 401, `${m} ${url} without credentials`);
      const badToken = await new ApiClient(server.httpUrl).request(m, url, { headers: { authorization: 'Bearer bct_not-a-real-token' } });
      assert.equal(badToken.status, 401, `${m} ${url} with a bad token`);
      assert.equal(badToken.json.error.code, 'invalid_token');
      if (m !== 'GET') {
        const noCsrf = await session.request(m, url, { noCsrf: true });
        assert.equal(noCsrf.status, 403, `${m} ${url} without X-CSRF-Token`);
        assert.equal(noCsrf.json.error.code, 'csrf_failed');
      }
      checked++;
    }
  }
  assert.ok(checked >= 40, `${checked} operations checked`);
  assert.equal((await session.get('/api/v1/applications/live')).json.settings.hlsTime, 2, 'none of them changed anything');
});

test('CSRF: a state-changing request with the cookie needs X-CSRF-Token and a same-origin Origin; bearer tokens need neither', async () => {
  const session = await login(server);
  const noHeader = await session.patch('/api/v1/applications/live', { hlsTime: 3 }, { noCsrf: true });
  assert.equal(noHeader.status, 403);
  assert.equal(noHeader.json.error.code, 'csrf_failed');
  const wrongHeader = await session.patch('/api/v1/applications/live', { hlsTime: 3 }, { noCsrf: true, headers: { 'x-csrf-token': 'x'.repeat(43) } });
  assert.equal(wrongHeader.status, 403);
  const foreign = await session.patch('/api/v1/applications/live', { hlsTime: 3 }, { headers: { origin: 'https://evil.example' } });
  assert.equal(foreign.status, 403);
  assert.equal(foreign.json.error.code, 'origin_mismatch');
  assert.equal((await session.get('/api/v1/applications/live')).json.settings.hlsTime, 2, 'nothing changed');
  const crossSite = await session.patch('/api/v1/applications/live', { hlsTime: 3 }, { headers: { 'sec-fetch-site': 'cross-site' } });
  assert.equal(crossSite.status, 403, 'a browser says it comes from another site');
  const sameSite = await session.patch('/api/v1/applications/live', { hlsTime: 3 }, { headers: { 'sec-fetch-site': 'same-site', origin: 'https://other.localhost' } });
  assert.equal(sameSite.status, 403, 'a sibling site is another site too');
  assert.equal((await session.get('/api/v1/applications/live')).json.settings.hlsTime, 2, 'nothing changed');
  // Behind a proxy that rewrites Host, the Origin looks foreign; the browser's Sec-Fetch-Site says the truth.
  const proxied = await session.patch('/api/v1/applications/live', { hlsTime: 3 }, { headers: { 'sec-fetch-site': 'same-origin', origin: 'https://media.example.com' } });
  assert.equal(proxied.status, 200);
  const same = await session.patch('/api/v1/applications/live', { hlsTime: 3 }, { headers: { origin: server.httpUrl } });
  assert.equal(same.status, 200);
  assert.equal(same.json.settings.hlsTime, 3);
  assert.equal((await session.get('/api/v1/applications/live')).status, 200, 'reads need no header');
  // Another session's token does not fit this session.
  const other = await login(server);
  const mixed = await session.patch('/api/v1/applications/live', { hlsTime: 2 }, { noCsrf: true, headers: { 'x-csrf-token': other.auth.csrf! } });
  assert.equal(mixed.status, 403);
});

test('API tokens: shown once, listed without the token, usable as Bearer, revocable; bad tokens are refused', async () => {
  const session = await login(server);
  const made = await session.post('/api/v1/auth/tokens', { name: 'ci', expiresInDays: 30 });
  assert.equal(made.status, 201);
  assert.match(made.json.token, /^bct_[\w-]{43}$/);
  assert.ok(made.json.expiresAt);
  const list = await session.get('/api/v1/auth/tokens');
  assert.ok(list.json.tokens.some((t: { id: string }) => t.id === made.json.id));
  assert.ok(!list.text.includes(made.json.token), 'the token is never listed');
  const script = new ApiClient(server.httpUrl, { token: made.json.token });
  assert.equal((await script.get('/api/v1/auth/me')).json.authenticatedBy, 'token');
  const changed = await script.patch('/api/v1/applications/live', { hlsTime: 4 });
  assert.equal(changed.status, 200, 'no CSRF header with a bearer token');
  assert.equal((await script.patch('/api/v1/applications/live', { hlsTime: 2 })).status, 200);
  assert.ok((await session.get('/api/v1/auth/tokens')).json.tokens.find((t: { id: string }) => t.id === made.json.id).lastUsedAt);
  for (const bad of ['bct_' + 'A'.repeat(43), 'not-a-token', '']) {
    const res = await new ApiClient(server.httpUrl).get('/api/v1/applications', { headers: { authorization: `Bearer ${bad}` } });
    assert.equal(res.status, 401, `token "${bad}"`);
    assert.equal(res.json.error.code, 'invalid_token');
  }
  const basic = await new ApiClient(server.httpUrl).get('/api/v1/applications', { headers: { authorization: 'Basic YWRtaW46eA==' } });
  assert.equal(basic.status, 401);
  const nameless = await session.post('/api/v1/auth/tokens', { expiresInDays: 0 });
  assert.equal(nameless.status, 422);
  assert.deepEqual(nameless.json.error.details.map((d: { path: string }) => d.path).sort(), ['expiresInDays', 'name']);
  assert.equal((await session.delete(`/api/v1/auth/tokens/${made.json.id}`)).status, 204);
  assert.equal((await script.get('/api/v1/applications')).status, 401, 'revoked');
  assert.equal((await session.delete(`/api/v1/auth/tokens/${made.json.id}`)).status, 404);
  assert.ok(!allOutput(server).includes(made.json.token), 'the token is not in the logs');
});

test('an expired session is refused; logout ends the session and clears the cookie', async () => {
  const a = await login(server);
  const b = await login(server);
  const db = new Database(path.join(server.dataDir, 'bucketcast.db'));
  try {
    // The store keeps only hashes of session ids, so age them all.
    db.prepare('UPDATE admin_sessions SET expires_at = ?').run(Date.now() - 1000);
  } finally {
    db.close();
  }
  const expired = await a.get('/api/v1/applications');
  assert.equal(expired.status, 401);
  assert.equal(expired.json.error.code, 'session_expired');
  assert.equal((await b.get('/api/v1/auth/me')).status, 401);
  const c = await login(server);
  const me = await c.get('/api/v1/auth/me');
  assert.equal(me.status, 200);
  assert.equal(me.json.csrfToken, c.auth.csrf, 'the CSRF token comes back after a reload');
  const out = await c.post('/api/v1/auth/logout');
  assert.equal(out.status, 204);
  assert.match(out.headers.get('set-cookie')!, /^bucketcast_session=; Path=\/; Max-Age=0/);
  const after = await c.get('/api/v1/applications');
  assert.equal(after.status, 401);
  assert.equal(after.json.error.code, 'session_invalid');
});

test('password change: checks the current one and the length, ends other sessions, and the old password stops working', async () => {
  const mine = await login(server);
  const other = await login(server);
  const wrong = await mine.post('/api/v1/auth/password', { currentPassword: 'nope-nope-nope', newPassword: 'a-new-password-1' }, { headers: { 'x-forwarded-for': '192.0.2.50' } });
  assert.equal(wrong.status, 403);
  assert.equal(wrong.json.error.code, 'wrong_password');
  const short = await mine.post('/api/v1/auth/password', { currentPassword: ADMIN_PASSWORD, newPassword: 'short' });
  assert.equal(short.status, 422);
  assert.match(short.json.error.message, /newPassword: must be at least 12 characters/);
  assert.equal((await attempt(ADMIN_PASSWORD, '192.0.2.51')).status, 200, 'nothing changed');
  const next = 'a-new-password-for-tests';
  const ok = await mine.post('/api/v1/auth/password', { currentPassword: ADMIN_PASSWORD, newPassword: next });
  assert.equal(ok.status, 200);
  assert.ok(ok.json.sessionsEnded >= 1);
  assert.equal((await other.get('/api/v1/auth/me')).status, 401, 'other sessions ended');
  assert.equal((await mine.get('/api/v1/auth/me')).status, 200, 'this one goes on');
  assert.equal((await attempt(ADMIN_PASSWORD, '192.0.2.52')).status, 401);
  assert.equal((await attempt(next, '192.0.2.53')).status, 200);
  // Back, for the other tests.
  assert.equal((await mine.post('/api/v1/auth/password', { currentPassword: next, newPassword: ADMIN_PASSWORD })).status, 200);
  assert.ok(!allOutput(server).includes(next) && !allOutput(server).includes(ADMIN_PASSWORD), 'no password in the logs');
});

test('brute force: an address is locked out after its failures, then a user from any address; 429 with Retry-After even for the right password', async () => {
  for (let i = 0; i < 3; i++) assert.equal((await attempt(`guess-${i}`, '198.51.100.1')).status, 401);
  const locked = await attempt('guess-3', '198.51.100.1');
  assert.equal(locked.status, 429);
  assert.equal(locked.json.error.code, 'too_many_attempts');
  const retryAfter = Number(locked.headers.get('retry-after'));
  assert.ok(retryAfter >= 1 && retryAfter <= LOCKOUT_SECONDS, `Retry-After ${retryAfter}`);
  assert.equal((await attempt(ADMIN_PASSWORD, '198.51.100.1')).status, 429, 'the right password is not even checked');
  // The user is not locked by one address (4 < 8), and a success clears its count.
  assert.equal((await attempt(ADMIN_PASSWORD, '198.51.100.2')).status, 200);
  // A guesser rotating addresses locks the user instead.
  for (let i = 0; i < 7; i++) assert.equal((await attempt(`guess-${i}`, `203.0.113.${i + 1}`)).status, 401);
  assert.equal((await attempt('guess-7', '203.0.113.8')).status, 429);
  const userLocked = await attempt(ADMIN_PASSWORD, '203.0.113.99');
  assert.equal(userLocked.status, 429, 'locked for every address');
  await server.waitForLog((l) => l.msg === 'login refused: locked out' && l.scope === 'user', 5_000, 'user lockout logged');
  await new Promise((r) => setTimeout(r, LOCKOUT_SECONDS * 1000 + 300));
  assert.equal((await attempt(ADMIN_PASSWORD, '203.0.113.99')).status, 200, 'the lockout ends');
  assert.equal((await attempt(ADMIN_PASSWORD, '198.51.100.1')).status, 200);
  const failures = server.logs.filter((l) => l.msg === 'login failed');
  assert.ok(failures.length >= 10);
  assert.ok(failures.every((l) => !JSON.stringify(l).includes('guess-')), 'passwords tried are never logged');
});

test('no session id, CSRF token or password in any log line', async () => {
  const session = await login(server);
  const sessionId = session.auth.cookie!.split('=')[1];
  const logs = allOutput(server);
  assert.ok(!logs.includes(sessionId));
  assert.ok(!logs.includes(session.auth.csrf!));
  assert.ok(!logs.includes(ADMIN_PASSWORD));
});
