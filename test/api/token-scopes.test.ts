/**
 * API tokens expire (90 days unless asked otherwise) and carry
 * a scope (`read`, `admin`, `metrics`); a password change revokes every token
 * as well as the other sessions; signed publish tokens may live 24 h at most
 * by default. (Publish refusals telling only "unauthorized" are checked in
 * publish-security and whip-publish-security.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../helpers/server.js';
import { ADMIN_PASSWORD, ApiClient, adminEnv, login } from '../helpers/api.js';
import { configSchema } from '../../src/config/schema.js';

test('signed publish tokens: at most 24 h ahead unless configured', () => {
  const c = configSchema.parse({ applications: [{ name: 'live', publishSecurity: { mode: 'signedTokens' } }] });
  assert.equal(c.applications[0].publishSecurity.maxTokenLifetimeSeconds, 86_400);
});

test('API tokens: 90 days by default, scopes enforced, all revoked by a password change', async () => {
  const server = await startServer({ env: adminEnv(), config: { applications: [{ name: 'live', s3RecordingEnabled: false }] } });
  try {
    const session = await login(server);
    const mint = async (body: Record<string, unknown>) => {
      const r = await session.post('/api/v1/auth/tokens', body);
      assert.equal(r.status, 201, r.text);
      return r.json as { token: string; scope: string; expiresAt: string };
    };
    const admin = await mint({ name: 'admin script' });
    const days = (Date.parse(admin.expiresAt) - Date.now()) / 86_400_000;
    assert.ok(days > 89.9 && days <= 90, `expires in 90 days (${days.toFixed(2)})`);
    assert.equal(admin.scope, 'admin');
    const read = await mint({ name: 'dashboard', scope: 'read' });
    const metrics = await mint({ name: 'prometheus', scope: 'metrics', expiresInDays: 365 });
    const bad = await session.post('/api/v1/auth/tokens', { name: 'x', scope: 'root' });
    assert.equal(bad.status, 422);
    assert.match(bad.text, /scope/);

    const as = (t: string) => new ApiClient(server.httpUrl, { token: t });
    assert.equal((await as(read.token).get('/api/v1/streams')).status, 200, 'read: GET');
    const write = await as(read.token).post('/api/v1/auth/tokens', { name: 'escalate', scope: 'admin' });
    assert.equal(write.status, 403, 'read: no POST');
    assert.equal(write.json.error.code, 'insufficient_scope');
    assert.equal((await as(read.token).delete(`/api/v1/applications/live`)).status, 403, 'read: no DELETE');
    assert.equal((await as(metrics.token).get('/metrics')).status, 200, 'metrics: /metrics');
    const other = await as(metrics.token).get('/api/v1/streams');
    assert.equal(other.status, 403, 'metrics: nothing else');
    assert.equal(other.json.error.code, 'insufficient_scope');
    assert.equal((await as(admin.token).get('/api/v1/streams')).status, 200);
    const listed = (await session.get('/api/v1/auth/tokens')).json.tokens as Array<{ name: string; scope: string }>;
    assert.deepEqual(listed.map((t) => `${t.name}:${t.scope}`).sort(), ['admin script:admin', 'dashboard:read', 'prometheus:metrics']);

    const changed = await session.post('/api/v1/auth/password', { currentPassword: ADMIN_PASSWORD, newPassword: 'a-changed-password-0001' });
    assert.equal(changed.status, 200);
    assert.equal(changed.json.tokensRevoked, 3);
    for (const t of [admin, read, metrics]) assert.equal((await as(t.token).get('/api/v1/auth/me')).status, 401, 'revoked by the password change');
  } finally {
    await server.stop();
    server.cleanup();
  }
});
