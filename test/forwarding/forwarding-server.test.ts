/**
 * Playback forwarding end to end through the real server process: redirect mode with the
 * plain mapping to a bucket on loopback (Ant Media's setup), every traversal
 * attempt on every file-serving route, methods, no open redirect, and the
 * player page with its local hls.js.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { startServer, ROOT, type TestServer } from '../helpers/server.js';
import { startBucket, type TestBucket } from '../helpers/fwd-bucket.js';

let server: TestServer;
let bucket: TestBucket;
const SECRET = 'root:x:0:0:secret-marker';

before(async () => {
  bucket = await startBucket();
  await bucket.put('streams/rec.mp4', 'BUCKET-MP4');
  await bucket.put('previews/rec.jpg', 'BUCKET-JPG');
  server = await startServer({ config: { applications: [{ name: 'live', httpForwardingBaseURL: bucket.url, httpForwardingExtension: 'mp4,m3u8,jpg' }] } });
  writeFileSync(path.join(server.dataDir, 'live', 'streams', 'local.mp4'), 'LOCAL-MP4');
  // Files a traversal would aim at: one beside the app folders, one in the data dir root.
  writeFileSync(path.join(server.dataDir, 'live', 'secret.txt'), SECRET);
  writeFileSync(path.join(server.dataDir, 'secret.txt'), SECRET);
});

after(async () => {
  await server?.stop();
  server?.cleanup();
  await bucket?.stop();
});

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends the request line exactly as given (no client-side URL normalization). */
function raw(method: string, target: string, extraHeaders = ''): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.httpPort, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const [head, ...rest] = text.split('\r\n\r\n');
      const [statusLine, ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
    // write, not end: a half-closed socket may be dropped before an asynchronous answer.
    socket.write(Buffer.from(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${server.httpPort}\r\nConnection: close\r\n${extraHeaders}\r\n`, 'latin1'));
  });
}

test('redirect mode with the plain mapping: 302 to <base>/streams/<file>, query kept; local files stay local', async () => {
  const r = await fetch(`${server.httpUrl}/live/streams/rec.mp4?token=abc&exp=1`, { redirect: 'manual' });
  assert.equal(r.status, 302);
  assert.equal(r.headers.get('location'), `${bucket.url}/streams/rec.mp4?token=abc&exp=1`);
  assert.equal(await (await fetch(`${server.httpUrl}/live/streams/rec.mp4`)).text(), 'BUCKET-MP4');
  assert.equal(await (await fetch(`${server.httpUrl}/live/previews/rec.jpg`)).text(), 'BUCKET-JPG');
  const local = await fetch(`${server.httpUrl}/live/streams/local.mp4`, { redirect: 'manual' });
  assert.equal(local.status, 200);
  assert.equal(await local.text(), 'LOCAL-MP4');
  const flv = await fetch(`${server.httpUrl}/live/streams/rec.flv`, { redirect: 'manual' });
  assert.equal(flv.status, 404, 'flv is not in httpForwardingExtension');
  const xmp4 = await fetch(`${server.httpUrl}/live/streams/rec.xmp4`, { redirect: 'manual' });
  assert.equal(xmp4.status, 404);
  // Preview images follow the recording whatever the list holds; other files under previews/ do not.
  const png = await fetch(`${server.httpUrl}/live/previews/rec.png`, { redirect: 'manual' });
  assert.equal(png.status, 302);
  const previewFlv = await fetch(`${server.httpUrl}/live/previews/rec.flv`, { redirect: 'manual' });
  assert.equal(previewFlv.status, 404);
});

const TRAVERSALS = [
  '../secret.txt',
  '../../secret.txt',
  '..%2fsecret.txt',
  '..%2F..%2Fsecret.txt',
  '%2e%2e/secret.txt',
  '%2E%2E%2F%2E%2E%2Fsecret.txt',
  '.%2e/secret.txt',
  '%2e%2e%5csecret.txt',
  '..%5csecret.txt',
  '..\\secret.txt',
  '..\\..\\secret.txt',
  '%252e%252e%252fsecret.txt',
  '..%252fsecret.txt',
  '%c0%ae%c0%ae/secret.txt',
  'x.mp4%00.jpg',
  'x.mp4%2500',
  '..%00/secret.txt',
  '%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  './../secret.txt',
];

test('every traversal attempt on every file-serving route gets 400 and leaks nothing', async () => {
  for (const prefix of ['/live/streams/', '/live/previews/', '/vendor/', '/']) {
    for (const t of TRAVERSALS) {
      for (const method of ['GET', 'HEAD']) {
        const r = await raw(method, prefix + t);
        assert.equal(r.status, 400, `${method} ${prefix}${t}`);
        assert.ok(!r.body.includes('secret-marker'), `${prefix}${t} leaked`);
        assert.equal(r.headers.location, undefined, `${prefix}${t} redirected`);
      }
    }
  }
  // A raw NUL never reaches a route either.
  assert.equal((await raw('GET', '/live/streams/x.mp4\0.jpg')).status, 400);
});

test('no request makes the server redirect anywhere but the configured bucket', async () => {
  const attempts = [
    '//evil.com/live/streams/rec.mp4',
    '//evil.com/',
    '///evil.com/',
    '/live/streams/rec.mp4?//evil.com',
    '/live/streams/rec.mp4?x=@evil.com&u=https://evil.com',
    '/live/streams/@evil.com.mp4',
    '/live/streams/evil.com%2frec.mp4',
    '/live/streams/%2F%2Fevil.com%2Frec.mp4',
    '/%2F%2Fevil.com',
    '/\\evil.com',
    '/\\\\evil.com/rec.mp4',
    '/live/streams/rec.mp4%23@evil.com',
    'http://evil.com/live/streams/rec.mp4',
    '/live//evil.com/rec.mp4',
    '/vendor',
    '/live',
    '/live/streams',
  ];
  for (const a of attempts) {
    for (const method of ['GET', 'HEAD']) {
      const r = await raw(method, a);
      const loc = r.headers.location;
      assert.ok(r.status >= 200 && r.status < 600, `${method} ${a} got an answer`);
      if (loc === undefined) continue;
      const ok = loc.startsWith(`${bucket.url}/`) || (/^\/[^/\\]/.test(loc) && !loc.includes('evil'));
      assert.ok(ok, `${method} ${a} redirected to ${loc}`);
    }
  }
  const evilHost = await raw('GET', '/live/streams/rec.mp4', 'X-Forwarded-Host: evil.com\r\n');
  assert.equal(evilHost.headers.location, `${bucket.url}/streams/rec.mp4`);
});

test('media URLs answer GET, HEAD and OPTIONS only', async () => {
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
    for (const p of ['/live/streams/local.mp4', '/live/streams/rec.mp4', '/live/previews/rec.jpg']) {
      const r = await raw(method, p, 'Content-Length: 0\r\n');
      assert.equal(r.status, 405, `${method} ${p}`);
      assert.equal(r.headers.allow, 'GET, HEAD, OPTIONS');
    }
  }
  const pre = await raw('OPTIONS', '/live/streams/rec.mp4', 'Origin: https://site.example.com\r\nAccess-Control-Request-Method: GET\r\n');
  assert.equal(pre.status, 204);
  assert.equal(pre.headers['access-control-allow-origin'], '*');
  assert.equal(readFileSync(path.join(server.dataDir, 'live', 'streams', 'local.mp4'), 'utf8'), 'LOCAL-MP4');
});

test('the player page and its hls.js are served locally; public/ links no CDN', async () => {
  const js = await fetch(`${server.httpUrl}/vendor/hls.min.js`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type') ?? '', /javascript/);
  const shipped = readFileSync(createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js'), 'utf8');
  assert.equal(await js.text(), shipped);
  const page = await fetch(`${server.httpUrl}/play.html`);
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /<script src="vendor\/hls\.min\.js"><\/script>/);
  assert.equal((await fetch(`${server.httpUrl}/play.js`)).status, 200);
  // Every file, the panel's folders (public/admin/…) included.
  for (const f of readdirSync(path.join(ROOT, 'public'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.relative(path.join(ROOT, 'public'), path.join(e.parentPath, e.name)))) {
    const text = readFileSync(path.join(ROOT, 'public', f), 'utf8');
    assert.doesNotMatch(text, /(src|href)\s*=\s*["']?(https?:)?\/\//i, `${f} loads nothing from another host`);
    assert.doesNotMatch(text, /cdn\.|jsdelivr|unpkg|cdnjs/i, `${f} names no CDN`);
  }
});
