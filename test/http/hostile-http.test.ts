/**
 * Hostile input over HTTP, as a table of requests (helpers/hostile-http.ts):
 * oversized and malformed requests and headers, smuggling-style
 * Content-Length/Transfer-Encoding combinations, bad methods and
 * percent-encoding, path traversal and open-redirect attempts on every
 * file-serving route (media, previews, player assets, /vendor, static pages,
 * WHIP session URLs), WHIP offers that are garbage or enormous, and
 * slowloris-style slow headers. Every row must get a clear refusal (a 4xx
 * with a message, or a closed connection for protocol garbage); the server
 * keeps serving, a publisher alongside records completely, and no secret
 * (AWS keys, a stored credential, the credential key, a publish token)
 * appears in any answer or log line. The admin API and its events channel
 * get the same: unauthenticated, forged and oversized calls are refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { ffprobe, push } from '../helpers/media.js';
import { startS3Target } from '../helpers/s3.js';
import { browserLikeOffer } from '../helpers/whip.js';
import { openSqliteStore } from '../../src/db/sqlite/index.js';
import { OFFSITE, TRAVERSALS, requestBytes, sendRaw, type HostileCase } from '../helpers/hostile-http.js';
import { waitUploaded } from '../helpers/fault.js';

const BUCKET = 'hostile';
const FORWARD_BASE = 'https://media-bucket.example.com';
const SECRETS = {
  awsKeyId: 'AKIAHOSTILE000000001',
  awsSecret: 'hostile/Aws+Secret/0001-never-shown',
  storedKeyId: 'AKIASTORED0000000001',
  storedSecret: 'stored/Credential+Secret/0002-never-shown',
  secretKey: 'hostile-test-passphrase-for-credentials-0003',
  token: 'publish-token-0004-never-shown',
  adminPassword: 'hostile-admin-password-0005',
};
const FOUR_XX = Array.from({ length: 100 }, (_, i) => 400 + i);

/** Every file-serving route, as a path prefix that a file name follows. */
const FILE_ROUTES = ['/live/streams/', '/live/previews/', '/vendor/', '/', '/admin/', '/live/whip/cam1/'];

function cases(): HostileCase[] {
  const rows: HostileCase[] = [];
  const raw = (name: string, bytes: string | Buffer, status: number[] = FOUR_XX, closedOk = true) => rows.push({ name, raw: bytes, expect: { status, closedOk } });
  // Oversized and malformed requests.
  raw('a 20 KB header', `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, [431]);
  raw('10 000 headers', `GET / HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 10_000 }, (_, i) => `X-H${i}: v`).join('\r\n')}\r\n\r\n`, [431]);
  raw('a 100 KB URL', `GET /${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, [414, 431]);
  raw('an unknown method', 'FOO / HTTP/1.1\r\nHost: x\r\n\r\n');
  raw('a NUL in the method', 'G\0ET / HTTP/1.1\r\nHost: x\r\n\r\n');
  raw('a NUL in the path', 'GET /live/streams/a\0.mp4 HTTP/1.1\r\nHost: x\r\n\r\n');
  raw('a tab in the path', 'GET /\t/evil.example HTTP/1.1\r\nHost: x\r\n\r\n');
  raw('bad percent-encoding', 'GET /live/streams/%zz.mp4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', [400], false);
  raw('a truncated percent-encoding', 'GET /live/streams/%E0%A4%A.mp4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', [400], false);
  raw('a lone %', 'GET /% HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', [400], false);
  raw('CR LF injection through encoding', 'GET /live/streams/x.mp4%0d%0aSet-Cookie:%20a=b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', [400], false);
  raw('Content-Length and Transfer-Encoding together', 'POST /live/whip/cam1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/sdp\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
  raw('two different Content-Lengths', 'POST /live/whip/cam1 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nv=0\n');
  raw('a Transfer-Encoding that does not end in chunked', 'POST /live/whip/cam1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n');
  raw('an obfuscated Transfer-Encoding', 'POST /live/whip/cam1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n');
  raw('a bad chunk size', 'POST /live/whip/cam1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/sdp\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nv=0\r\n0\r\n\r\n');
  raw('a folded header line', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n');
  raw('a space before the colon', 'GET / HTTP/1.1\r\nHost : x\r\n\r\n');
  raw('no Host header', 'GET / HTTP/1.1\r\nConnection: close\r\n\r\n');
  // Node takes a request line without a version as HTTP/0.9 and answers it like any GET: only public pages.
  raw('an HTTP/0.9 request', 'GET /\r\n\r\n', [200, 400]);
  raw('an HTTP/0.9 request for a data file', 'GET /bucketcast.db\r\n\r\n', [400, 404]);
  raw('HTTP version 9.9', 'GET / HTTP/9.9\r\nHost: x\r\n\r\n', [400, 505]);
  raw('CONNECT to another host', 'CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n');
  raw('OPTIONS *', 'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  raw('a request smuggled in a GET body', 'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 44\r\nConnection: close\r\n\r\nGET /live/streams/x.mp4 HTTP/1.1\r\nHost: x\r\n\r\n', [200], false);
  rows.push({ name: 'DELETE on a media URL', method: 'DELETE', path: '/live/streams/x.mp4', expect: { status: [405] } });
  rows.push({ name: 'TRACE', method: 'TRACE', path: '/', expect: { status: FOUR_XX } });
  rows.push({ name: 'PROPFIND on a page', method: 'PROPFIND', path: '/play.html', expect: { status: FOUR_XX } });
  rows.push({ name: 'a thousand ranges', path: '/vendor/hls.min.js', headers: { range: `bytes=${Array.from({ length: 1000 }, (_, i) => `${i}-${i}`).join(',')}` }, expect: { status: [200, 206, 416] } });
  rows.push({ name: 'a range past the end', path: '/vendor/hls.min.js', headers: { range: 'bytes=999999999999-' }, expect: { status: [416] } });

  // Path traversal on every file-serving route, and the data dir's own files.
  for (const route of FILE_ROUTES) {
    for (const t of TRAVERSALS) {
      for (const method of route.includes('/whip/') ? ['PATCH', 'DELETE'] : ['GET']) {
        rows.push({ name: `${method} ${route}${t}`, method, path: `${route}${t}`, headers: method === 'PATCH' ? { 'content-type': 'application/trickle-ice-sdpfrag' } : {}, expect: { status: [400, 404, 405], closedOk: /\\|%00|\x00/.test(t) } });
      }
    }
  }
  for (const p of ['/bucketcast.db', '/secret.key', '/node-id', '/.work/', '/live/streams/.', '/live/../bucketcast.db', '/public/play.html', '/src/main.ts', '/package.json', '/.git/config', '/node_modules/hls.js/package.json']) {
    rows.push({ name: `GET ${p}`, path: p, expect: { status: [400, 404] } });
  }

  // Open redirects: a Location, when there is one, stays on this server or goes to the configured base URL.
  for (const p of OFFSITE) rows.push({ name: `redirect ${p}`, path: p, expect: { status: [...FOUR_XX, 301, 302, 200], closedOk: /\t/.test(p) } });
  for (const [name, p, headers] of [
    ['a forwarded Host', '/live/streams/gone.mp4', { 'x-forwarded-host': 'evil.example' }],
    ['another Host header', '/live/streams/gone.mp4', { host: 'evil.example' }],
    ['a query of //', '/live/streams/gone.mp4?next=//evil.example', {}],
    ['an @ in the name', '/live/streams/@evil.example.mp4', {}],
    ['an encoded scheme', '/live/streams/https%3A%2F%2Fevil.example.mp4', {}],
  ] as Array<[string, string, Record<string, string>]>) {
    rows.push({ name: `forwarding redirect with ${name}`, path: p, headers, expect: { status: [302, 400, 404] } });
  }

  // WHIP: garbage and enormous offers, session URLs.
  const offer = browserLikeOffer();
  // A stream id per row: an offer that is accepted (201) must not make the next rows "busy".
  let n = 0;
  const whip = (name: string, body: string | Buffer, status: number[], headers: Record<string, string> = { 'content-type': 'application/sdp' }, p = `/live/whip/hostile${++n}`) =>
    rows.push({ name: `WHIP ${name}`, method: 'POST', path: p, headers, body, expect: { status } });
  whip('binary garbage', Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 7919) % 256)), [400]);
  whip('an empty body', '', [400]);
  whip('a text that is not SDP', 'hello, this is not an SDP offer\r\n', [400]);
  whip('an offer with NUL bytes', offer.replace('s=-', 's=\0\0\0'), [400]);
  whip('an offer over 64 KiB', offer + `a=x-pad:${'p'.repeat(70_000)}\r\n`, [413]);
  whip('a 10 MB offer', Buffer.alloc(10 * 1024 * 1024, 0x61), [413]);
  whip('2000 media sections', `v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n${Array.from({ length: 2000 }, (_, i) => `m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:${i}\r\n`).join('')}`, [400, 413]);
  whip('3000 extra attribute lines', offer.replace('a=rtcp-mux', `a=rtcp-mux\r\n${Array.from({ length: 3000 }, (_, i) => `a=x-${i}:y`).join('\r\n')}`), [201, 400]);
  whip('absurd numbers', offer.replace(/m=video 9 UDP\/TLS\/RTP\/SAVPF [\d ]+/, 'm=video 99999999999 UDP/TLS/RTP/SAVPF 4294967296 -1').replace(/a=rtpmap:102 H264\/90000/, 'a=rtpmap:102 H264/99999999999999'), [400]);
  whip('no fingerprint', offer.replace(/a=fingerprint:.*\r\n/g, ''), [400]);
  whip('the wrong content type', offer, [415], { 'content-type': 'text/plain' });
  whip('an unknown app', offer, [404], { 'content-type': 'application/sdp' }, '/nope/whip/cam1');
  whip('a 300-character stream id', offer, [400], { 'content-type': 'application/sdp' }, `/live/whip/${'s'.repeat(300)}`);
  whip('a Basic credential', offer, [401], { 'content-type': 'application/sdp', authorization: 'Basic dXNlcjpwYXNz' });
  rows.push({ name: 'WHIP PATCH of an unknown session', method: 'PATCH', path: '/live/whip/cam1/00000000-0000-0000-0000-000000000000', headers: { 'content-type': 'application/trickle-ice-sdpfrag' }, body: 'a=candidate:1 1 UDP 1 127.0.0.1 9 typ host\r\n', expect: { status: [404] } });
  rows.push({ name: 'WHIP PATCH of 1 MB', method: 'PATCH', path: '/live/whip/cam1/00000000-0000-0000-0000-000000000000', headers: { 'content-type': 'application/trickle-ice-sdpfrag' }, body: Buffer.alloc(1024 * 1024, 0x61), expect: { status: [404, 413] } });
  rows.push({ name: 'WHIP DELETE of an unknown session', method: 'DELETE', path: '/live/whip/cam1/not-a-session', expect: { status: [404] } });
  rows.push({ name: 'WHIP GET on the endpoint', method: 'GET', path: '/live/whip/cam1', expect: { status: [405] } });

  // The admin API and the events channel, unauthenticated and hostile: refused, never a 5xx.
  const api = (name: string, method: string, p: string, status: number[], headers: Record<string, string> = {}, body?: string | Buffer) =>
    rows.push({ name: `API ${name}`, method, path: p, headers, body, expect: { status } });
  const json = { 'content-type': 'application/json' };
  api('login with a 2 MB body', 'POST', '/api/v1/auth/login', [413], json, JSON.stringify({ username: 'admin', password: 'p'.repeat(2 * 1024 * 1024) }));
  api('login with JSON nested 100 000 deep', 'POST', '/api/v1/auth/login', [400, 413, 422], json, `${'['.repeat(100_000)}${']'.repeat(100_000)}`);
  api('login with a prototype-polluting body', 'POST', '/api/v1/auth/login', [401, 422, 429], json, '{"__proto__":{"admin":true},"constructor":{"prototype":{"admin":true}},"username":"admin","password":"x"}');
  api('login with a non-string password', 'POST', '/api/v1/auth/login', [422, 429], json, '{"username":"admin","password":{"$ne":""}}');
  api('login with SQL in the user name', 'POST', '/api/v1/auth/login', [401, 422, 429], json, `{"username":"admin' OR '1'='1","password":"x"}`);
  api('a 10 KB bearer token', 'GET', '/api/v1/applications', [401], { authorization: `Bearer bct_${'A'.repeat(10_000)}` });
  api('a forged session cookie', 'GET', '/api/v1/recordings', [401], { cookie: `bucketcast_session=${'B'.repeat(43)}` });
  api('a thousand cookies', 'GET', '/api/v1/streams', [401, 431], { cookie: Array.from({ length: 1000 }, (_, i) => `c${i}=v`).join('; ') });
  api('a traversal in an application name', 'GET', '/api/v1/applications/..%2f..%2fbucketcast.db', [400, 401, 404]);
  api('creating a credential unauthenticated', 'POST', '/api/v1/credentials/aws', [401], { 'content-type': 'application/x-www-form-urlencoded' }, `credentials=${SECRETS.storedKeyId}:x&friendlyName=evil`);
  api('metrics unauthenticated', 'GET', '/metrics', [401]);
  const upgrade = { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' };
  api('the events channel unauthenticated', 'GET', '/api/v1/events', [401], upgrade);
  api('the events channel with a bad token', 'GET', '/api/v1/events', [401], { ...upgrade, authorization: 'Bearer bct_nope' });
  api('the events channel from another site', 'GET', '/api/v1/events', [401, 403], { ...upgrade, origin: 'https://evil.example', cookie: `bucketcast_session=${'C'.repeat(43)}` });
  return rows;
}

/** What no answer may contain: the secrets, and files from outside what is served. */
const LEAKS = [...Object.values(SECRETS), 'root:x:0:0', 'SQLite format 3', 'BEGIN RSA'];

test('hostile HTTP requests get clear refusals; no crash, no leak, a publisher alongside unaffected', { timeout: 300_000 }, async (t) => {
  const s3 = await startS3Target();
  await s3.createBucket(BUCKET);
  s3.addAccessKey(SECRETS.storedKeyId, SECRETS.storedSecret);
  // A stored credential, encrypted with a key known to the test, is what the app uploads with.
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-hostile-'));
  const store = openSqliteStore({ dataDir, secretKey: SECRETS.secretKey });
  const cred = await store.credentials.create({ credentials: `${SECRETS.storedKeyId}:${SECRETS.storedSecret}`, friendlyName: 'hostile test' });
  await store.close();
  const src = await fixture({ seconds: 25, width: 426, height: 240, fps: 25, videoKbps: 300 });
  const server = await startServer({
    events: true,
    dataDir,
    env: { AWS_ACCESS_KEY_ID: SECRETS.awsKeyId, AWS_SECRET_ACCESS_KEY: SECRETS.awsSecret, BUCKETCAST_SECRET_KEY: SECRETS.secretKey, BUCKETCAST_ADMIN_PASSWORD: SECRETS.adminPassword },
    config: {
      applications: [
        {
          name: 'live',
          httpForwardingBaseURL: FORWARD_BASE,
          s3: { bucket: BUCKET, endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { source: 'stored', credentialId: cred.id } },
        },
      ],
    },
  });
  const answers: Buffer[] = [];
  try {
    const legit = push(`${server.rtmpUrl('live', 'legit')}?token=${SECRETS.token}`, src);
    const legitStarted = await server.events.waitFor('recording.started', (e) => e.streamId === 'legit', 20_000, 'legit recording');

    // Slowloris alongside: headers a byte at a time, never finished.
    const slow = Array.from({ length: 10 }, () => {
      const s = net.connect(server.httpPort, '127.0.0.1');
      s.on('error', () => undefined);
      const since = Date.now();
      const closed = new Promise<number>((r) => s.on('close', () => r(Date.now() - since)));
      s.on('connect', () => s.write('GET / HTTP/1.1\r\nHost: x\r\n'));
      const drip = setInterval(() => s.writable && s.write('X'), 2000);
      void closed.then(() => clearInterval(drip));
      return { s, closed, drip };
    });

    const failures: string[] = [];
    const sessions: string[] = [];
    for (const c of cases()) {
      const r = await sendRaw(server.httpPort, requestBytes(c));
      answers.push(r.raw);
      const ok = r.status === 0 ? !!c.expect.closedOk : (c.expect.status ?? FOUR_XX).includes(r.status);
      if (!ok) failures.push(`${c.name}: ${r.status === 0 ? 'connection closed without an answer' : r.status} ${r.body.toString('utf8').slice(0, 160)}`);
      // A refusal says why: a JSON error with a code and a message (our routes), or Node's own answer to protocol garbage.
      if (r.status >= 400 && r.status < 500 && r.headers['content-type']?.includes('json')) {
        const e = JSON.parse(r.body.toString('utf8')) as { error?: { code?: string; message?: string } };
        if (!e.error?.code || !e.error.message) failures.push(`${c.name}: a ${r.status} without code and message`);
      }
      const location = r.headers.location;
      if (location && !(location.startsWith(`${FORWARD_BASE}/`) || /^\/(?![/\\])/.test(location))) failures.push(`${c.name}: redirects off-site to ${location}`);
      if (r.status === 201 && r.headers.location) sessions.push(r.headers.location);
      if (r.status === 200 && c.path?.includes('passwd')) failures.push(`${c.name}: answered 200`);
      assert.equal(server.proc.exitCode, null, `the server survived: ${c.name}`);
    }
    for (const loc of sessions) answers.push((await sendRaw(server.httpPort, `DELETE ${loc} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)).raw);
    assert.deepEqual(failures, [], 'every hostile request was refused clearly');
    t.diagnostic(`${cases().length} hostile requests refused`);

    // Still serving while the slow clients hang on, and they are cut off by the headers timeout.
    const t0 = Date.now();
    const health = await fetch(`${server.httpUrl}/healthz`);
    assert.equal(health.status, 200);
    assert.ok(Date.now() - t0 < 2000, 'healthz answers at once during the slowloris');
    const slowClosed = await Promise.all(slow.map((x) => x.closed));
    for (const x of slow) clearInterval(x.drip);
    assert.ok(Math.max(...slowClosed) < 65_000, `slow-header connections were closed after ${Math.round(Math.max(...slowClosed) / 1000)} s at most`);
    t.diagnostic(`slowloris connections closed after ${Math.round(Math.min(...slowClosed) / 1000)}–${Math.round(Math.max(...slowClosed) / 1000)} s`);

    // The publisher alongside was not disturbed, and its recording went up with the stored credential.
    const done = await legit.done;
    assert.equal(done.code, 0, `the publisher ran to its end: ${done.stderr}`);
    const name = String(legitStarted.name);
    const completed = await server.events.waitFor('recording.completed', (e) => e.name === name, 30_000, 'legit completed');
    const probed = await ffprobe(src);
    assert.ok(Math.abs(Number(completed.durationSeconds) - probed.duration) < 0.5, `the recording is complete (${completed.durationSeconds} of ${probed.duration} s)`);
    await waitUploaded(server, [name], 60_000);
    assert.ok(s3.requests.some((r) => r.accessKeyId === SECRETS.storedKeyId), 'uploads were signed with the stored credential');

    const everything = [...answers.map((b) => b.toString('latin1')), ...server.logs.map((l) => JSON.stringify(l)), ...server.otherOutput].join('\n');
    for (const leak of LEAKS) assert.ok(!everything.includes(leak), `no "${leak.slice(0, 12)}…" in any answer or log line`);
    assert.deepEqual(server.otherOutput, [], 'only JSON log lines');
  } finally {
    await server.stop();
    server.cleanup();
    await s3.cleanup();
  }
});
