/**
 * Media URLs allow only GET, HEAD and OPTIONS; CORS headers follow
 * each app's settings on local files, redirects and proxied files; the bucket
 * CORS check reads a real bucket's configuration (s3rver, which enforces it).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startBucket, type TestBucket } from '../helpers/fwd-bucket.js';
import { startForwardingServer, type FwdServer } from '../helpers/fwd-server.js';
import { checkBucketCors } from '../../src/forwarding/cors-check.js';

let bucket: TestBucket;
let server: FwdServer;
const SITE = 'https://site.example.com';

before(async () => {
  bucket = await startBucket();
  await bucket.put('streams/remote.mp4', 'REMOTE');
  server = await startForwardingServer({
    apps: [
      { name: 'open', httpForwardingBaseURL: bucket.url }, // default: any origin
      { name: 'strict', httpForwardingBaseURL: bucket.url, cors: { allowedOrigins: [SITE, 'http://localhost:5080'], maxAgeSeconds: 120 } },
      { name: 'closed', httpForwardingBaseURL: bucket.url, cors: { allowedOrigins: [] } },
      { name: 'proxy', httpForwardingMode: 'proxy', httpForwardingBaseURL: bucket.url, cors: { allowedOrigins: [SITE] } },
    ],
  });
  for (const app of ['open', 'strict', 'closed', 'proxy']) {
    writeFileSync(path.join(server.layout.streamsDir(app), 'local.mp4'), 'LOCAL');
    writeFileSync(path.join(server.layout.previewsDir(app), 'local.jpg'), 'JPG');
  }
});

after(async () => {
  await server?.stop();
  await bucket?.stop();
});

const req = (p: string, init: RequestInit = {}) => fetch(`${server.url}${p}`, { redirect: 'manual', ...init });

test('only GET, HEAD and OPTIONS: every other method gets 405 with Allow, on local and forwarded files', async () => {
  for (const p of ['/open/streams/local.mp4', '/open/previews/local.jpg', '/open/streams/remote.mp4', '/strict/streams/nothing.mp4', '/proxy/streams/remote.mp4']) {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'PROPFIND']) {
      const r = await req(p, { method, body: method === 'POST' || method === 'PUT' ? 'x' : undefined });
      assert.equal(r.status, 405, `${method} ${p}`);
      assert.equal(r.headers.get('allow'), 'GET, HEAD, OPTIONS', `${method} ${p}`);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'method_not_allowed');
    }
    assert.notEqual((await req(p, { method: 'GET' })).status, 405, p);
    assert.notEqual((await req(p, { method: 'HEAD' })).status, 405, p);
  }
  assert.equal(readFileSync(path.join(server.layout.streamsDir('open'), 'local.mp4'), 'utf8'), 'LOCAL', 'nothing was written');
  const plain = await req('/open/streams/local.mp4', { method: 'OPTIONS' });
  assert.equal(plain.status, 204);
  assert.equal(plain.headers.get('allow'), 'GET, HEAD, OPTIONS');
});

test('CORS: any origin by default, on local files and on redirects', async () => {
  for (const p of ['/open/streams/local.mp4', '/open/streams/remote.mp4', '/open/previews/local.jpg']) {
    const r = await req(p, { headers: { Origin: SITE } });
    assert.equal(r.headers.get('access-control-allow-origin'), '*', p);
    assert.match(r.headers.get('access-control-expose-headers') ?? '', /Content-Range/);
  }
  assert.equal((await req('/open/streams/remote.mp4')).status, 302);
});

test('CORS: a specific list answers the matching origin only, and varies on Origin', async () => {
  const ok = await req('/strict/streams/local.mp4', { headers: { Origin: SITE } });
  assert.equal(ok.headers.get('access-control-allow-origin'), SITE);
  assert.match(ok.headers.get('vary') ?? '', /Origin/);
  const redirect = await req('/strict/streams/remote.mp4', { headers: { Origin: 'http://localhost:5080' } });
  assert.equal(redirect.status, 302);
  assert.equal(redirect.headers.get('access-control-allow-origin'), 'http://localhost:5080', 'a redirect followed by XHR needs CORS too');
  const other = await req('/strict/streams/local.mp4', { headers: { Origin: 'https://evil.example.com' } });
  assert.equal(other.status, 200);
  assert.equal(other.headers.get('access-control-allow-origin'), null);
  assert.match(other.headers.get('vary') ?? '', /Origin/);
  const proxied = await req('/proxy/streams/remote.mp4', { headers: { Origin: SITE } });
  assert.equal(proxied.status, 200);
  assert.equal(await proxied.text(), 'REMOTE');
  assert.equal(proxied.headers.get('access-control-allow-origin'), SITE, 'proxied answers carry the app CORS, not the bucket');
  const closed = await req('/closed/streams/local.mp4', { headers: { Origin: SITE } });
  assert.equal(closed.headers.get('access-control-allow-origin'), null, 'an empty list sends no CORS headers');
});

test('CORS preflight is answered for GET and HEAD only, with the app max-age', async () => {
  const pre = (app: string, origin: string, method: string, headers?: string) =>
    req(`/${app}/streams/local.mp4`, { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': method, ...(headers ? { 'Access-Control-Request-Headers': headers } : {}) } });
  const ok = await pre('strict', SITE, 'GET', 'range');
  assert.equal(ok.status, 204);
  assert.equal(ok.headers.get('access-control-allow-origin'), SITE);
  assert.equal(ok.headers.get('access-control-allow-methods'), 'GET, HEAD, OPTIONS');
  assert.equal(ok.headers.get('access-control-allow-headers'), 'range');
  assert.equal(ok.headers.get('access-control-max-age'), '120');
  const put = await pre('strict', SITE, 'PUT');
  assert.equal(put.headers.get('access-control-allow-methods'), null, 'no grant for PUT');
  const evil = await pre('strict', 'https://evil.example.com', 'GET');
  assert.equal(evil.headers.get('access-control-allow-origin'), null);
  assert.equal(evil.headers.get('access-control-allow-methods'), null);
  const junk = await pre('open', SITE, 'GET', 'x-a, <script>');
  assert.equal(junk.headers.get('access-control-allow-headers'), null, 'malformed header list is not echoed');
  const open = await pre('open', SITE, 'HEAD');
  assert.equal(open.headers.get('access-control-allow-origin'), '*');
  assert.equal(open.headers.get('access-control-max-age'), '600');
});

test('bucket CORS check: missing configuration, missing origin, allowed origin, missing bucket', async () => {
  const origins = ['http://media.example.com:5080'];
  const none = await checkBucketCors({ client: bucket.client, bucket: bucket.bucket, origins });
  assert.equal(none.status, 'warn');
  assert.match(none.message, /has no CORS rules/);
  assert.match(none.message, /http:\/\/media\.example\.com:5080/);
  assert.deepEqual(none.suggestedRule?.AllowedOrigins, origins);

  await bucket.allowOrigins(['https://other.example.com']);
  const other = await checkBucketCors({ client: bucket.client, bucket: bucket.bucket, origins: [...origins, 'https://other.example.com'] });
  assert.equal(other.status, 'warn');
  assert.deepEqual(other.missingOrigins, origins);
  assert.match(other.message, /no CORS rule allowing GET and HEAD from http:\/\/media\.example\.com:5080/);

  await bucket.allowOrigins(['http://*.example.com:5080'], ['GET']);
  const getOnly = await checkBucketCors({ client: bucket.client, bucket: bucket.bucket, origins });
  assert.equal(getOnly.status, 'warn', 'HEAD missing');

  await bucket.allowOrigins(['http://*.example.com:5080']);
  const ok = await checkBucketCors({ client: bucket.client, bucket: bucket.bucket, origins });
  assert.equal(ok.status, 'ok');
  assert.equal(ok.suggestedRule, undefined);
  // s3rver enforces the rule it reported: the allowed origin gets CORS headers, another does not.
  await bucket.put('streams/c.mp4', 'C');
  assert.equal((await fetch(`${bucket.url}/streams/c.mp4`, { headers: { Origin: origins[0] } })).headers.get('access-control-allow-origin'), origins[0]);
  assert.equal((await fetch(`${bucket.url}/streams/c.mp4`, { headers: { Origin: 'https://evil.example.org' } })).headers.get('access-control-allow-origin'), null);

  const anywhere = await checkBucketCors({ client: bucket.client, bucket: bucket.bucket, origins: ['*'] });
  assert.equal(anywhere.status, 'warn', 'pages anywhere need the * rule');

  const gone = await checkBucketCors({ client: bucket.client, bucket: 'no-such-bucket', origins });
  assert.equal(gone.status, 'error');
  assert.match(gone.message, /bucket "no-such-bucket" does not exist/);
});
