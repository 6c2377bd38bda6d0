/**
 * App names that are data-dir entries are reserved;
 * `server.trustProxy`; the session cookie `Secure` with the `__Host-` prefix
 * over HTTPS; `X-Content-Type-Options: nosniff` on every answer; a CSP with
 * frame-ancestors on publish.html and play.html; `/healthz` answers anonymous
 * remote clients with its status only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../helpers/server.js';
import { ADMIN_PASSWORD, ApiClient, adminEnv, tokenClient } from '../helpers/api.js';
import { configSchema } from '../../src/config/schema.js';

test('an app may not be named like an entry of the data dir (node-id made every later start fail)', () => {
  for (const name of ['node-id', 'apps', 'NODE-ID', 'bucket']) {
    const r = configSchema.safeParse({ applications: [{ name }] });
    assert.equal(r.success, false, name);
    assert.match(JSON.stringify(r.error!.issues), /reserved/);
  }
});

test('nosniff everywhere, CSP on the pages, __Host- cookie over HTTPS, /healthz details for the admin or loopback only, trustProxy', async () => {
  const server = await startServer({ env: adminEnv(), config: { server: { playerFrameAncestors: ["'self'", 'https://embed.example.com'] }, applications: [{ name: 'live', s3RecordingEnabled: false }] } });
  const direct = await startServer({ env: adminEnv(), config: { server: { trustProxy: false }, applications: [{ name: 'live', s3RecordingEnabled: false }] } });
  try {
    const u = server.httpUrl;
    for (const p of ['/', '/healthz', '/play.html', '/publish.html', '/vendor/hls.min.js', '/api/v1/streams', '/live/streams/none.mp4', '/admin/', '/nope']) {
      const r = await fetch(u + p);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff', `${p} (${r.status})`);
    }
    const publish = await fetch(`${u}/publish.html`);
    assert.match(publish.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    assert.match(publish.headers.get('content-security-policy') ?? '', /script-src 'self'(;|$)/);
    assert.equal(publish.headers.get('x-frame-options'), 'DENY');
    const play = await fetch(`${u}/play.html`);
    assert.match(play.headers.get('content-security-policy') ?? '', /frame-ancestors 'self' https:\/\/embed\.example\.com/);

    // Over HTTPS (a TLS proxy on loopback): Secure, __Host- prefix, and that cookie is the session.
    const tls = await new ApiClient(u).post('/api/v1/auth/login', { password: ADMIN_PASSWORD }, { headers: { 'x-forwarded-proto': 'https' } });
    const cookie = tls.headers.get('set-cookie')!;
    assert.match(cookie, /^__Host-bucketcast_session=[\w-]{40,}; Path=\/;.*; Secure$/);
    const me = await new ApiClient(u, { cookie: cookie.split(';')[0] }).get('/api/v1/auth/me');
    assert.equal(me.status, 200);

    // /healthz: a remote client (X-Forwarded-For through the loopback proxy) gets the status only.
    const remote = (await (await fetch(`${u}/healthz`, { headers: { 'x-forwarded-for': '198.51.100.20' } })).json()) as Record<string, unknown>;
    assert.deepEqual(remote, { status: 'ok' });
    const token = await tokenClient(server);
    const admin = await fetch(`${u}/healthz`, { headers: { 'x-forwarded-for': '198.51.100.20', authorization: `Bearer ${token.auth.token}` } });
    assert.ok('liveStreams' in ((await admin.json()) as object), 'the admin sees the details');
    const local = (await (await fetch(`${u}/healthz`)).json()) as Record<string, unknown>;
    assert.ok('liveStreams' in local, 'loopback sees the details');
    // trustProxy false: X-Forwarded-For is not believed, the client is loopback.
    const notTrusted = (await (await fetch(`${direct.httpUrl}/healthz`, { headers: { 'x-forwarded-for': '198.51.100.20' } })).json()) as Record<string, unknown>;
    assert.ok('liveStreams' in notTrusted);
  } finally {
    await server.stop();
    await direct.stop();
    server.cleanup();
    direct.cleanup();
  }
});
