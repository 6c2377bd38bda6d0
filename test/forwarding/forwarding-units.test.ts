/** Pure pieces: extension matching, target URLs (no open redirect), query passing, settings validation, path guard, bucket CORS rule matching. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appSettings } from '../../src/config/schema.js';
import { forwardingPlan, isForwarded, parseExtensions } from '../../src/forwarding/forwarding-plan.js';
import { objectUrl, plainKey, safeQuery } from '../../src/forwarding/object-url.js';
import { ruleAllows } from '../../src/forwarding/cors-check.js';
import { pathProblem } from '../../src/http/path-guard.js';

const app = (extra: Record<string, unknown> = {}) => appSettings.parse({ name: 'live', ...extra });

test('extensions match exactly; HLS segments follow m3u8', () => {
  const plan = forwardingPlan(app());
  for (const ok of ['a.mp4', 'A.MP4', 'x.m3u8', 'x_00001.ts', 'x_1.m4s']) assert.ok(isForwarded(plan, 'streams', ok), ok);
  for (const no of ['a.xmp4', 'a.mp4x', 'a.mp', 'mp4', 'a.jpg', 'a.flv', 'a.', 'a.m3u']) assert.ok(!isForwarded(plan, 'streams', no), no);
  // Preview images and posters always follow the recording; nothing else is served from previews/.
  for (const ok of ['a.jpg', 'a.JPEG', 'a.png', 'a.webp']) assert.ok(isForwarded(plan, 'previews', ok), ok);
  for (const no of ['a.flv', 'a.gif', 'a.jpgx', 'jpg']) assert.ok(!isForwarded(plan, 'previews', no), no);
  assert.deepEqual([...parseExtensions(' .MP4 , jpg,,webp ')].sort(), ['jpg', 'mp4', 'webp']);
  assert.ok(!parseExtensions('mp4').has('ts'), 'segments only with m3u8');
  assert.equal(parseExtensions('').size, 0);
  assert.ok(!isForwarded(forwardingPlan(app({ httpForwardingExtension: '' })), 'streams', 'a.mp4'), 'empty list forwards no recording');
});

test('auto mode: redirect with a base URL, proxy without', () => {
  assert.equal(forwardingPlan(app()).mode, 'proxy');
  assert.equal(forwardingPlan(app()).auto, true);
  const withBase = forwardingPlan(app({ httpForwardingBaseURL: 'https://b.s3.us-east-1.amazonaws.com/' }));
  assert.equal(withBase.mode, 'redirect');
  assert.equal(withBase.base?.href, 'https://b.s3.us-east-1.amazonaws.com/');
  assert.equal(forwardingPlan(app({ httpForwardingMode: 'presigned' })).mode, 'presigned');
  assert.equal(forwardingPlan(app({ httpForwardingMode: 'proxy', httpForwardingBaseURL: 'https://cdn.example.com' })).auto, false);
});

test('settings are validated, each error naming its key', () => {
  const problems = (extra: Record<string, unknown>) => {
    const r = appSettings.safeParse({ name: 'live', ...extra });
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  assert.deepEqual(problems({}), []);
  const d = app();
  assert.deepEqual(
    { ext: d.httpForwardingExtension, base: d.httpForwardingBaseURL, mode: d.httpForwardingMode, expiry: d.httpForwardingPresignExpirySeconds, cors: { ...d.cors } },
    { ext: 'mp4,m3u8', base: '', mode: 'auto', expiry: 3600, cors: { allowedOrigins: ['*'], maxAgeSeconds: 600 } },
  );
  assert.match(problems({ httpForwardingExtension: 'mp4;m3u8' }).join(), /^httpForwardingExtension: must be a comma-separated list/);
  assert.match(problems({ httpForwardingExtension: 'mp4,../x' }).join(), /^httpForwardingExtension/);
  assert.match(problems({ httpForwardingBaseURL: 'mybucket.s3.amazonaws.com' }).join(), /^httpForwardingBaseURL: must be an absolute URL/);
  assert.match(problems({ httpForwardingBaseURL: 'javascript:alert(1)' }).join(), /^httpForwardingBaseURL: must start with http/);
  assert.match(problems({ httpForwardingBaseURL: 'https://u:p@b.example.com' }).join(), /^httpForwardingBaseURL: must not contain a user name/);
  assert.match(problems({ httpForwardingBaseURL: 'https://b.example.com/?x=1' }).join(), /^httpForwardingBaseURL: must not contain a query/);
  assert.match(problems({ httpForwardingMode: 'redirect' }).join(), /^httpForwardingBaseURL: redirect mode needs httpForwardingBaseURL/);
  assert.match(problems({ httpForwardingMode: 'bounce' }).join(), /^httpForwardingMode/);
  assert.match(problems({ httpForwardingPresignExpirySeconds: 0 }).join(), /^httpForwardingPresignExpirySeconds/);
  assert.match(problems({ httpForwardingPresignExpirySeconds: 604_801 }).join(), /^httpForwardingPresignExpirySeconds/);
  assert.match(problems({ cors: { allowedOrigins: ['https://a.example.com/path'] } }).join(), /^cors\.allowedOrigins\.0: must be "\*" or an origin/);
  assert.match(problems({ cors: { allowOrigins: ['*'] } }).join(), /unrecognized key|allowOrigins/i);
  assert.deepEqual(problems({ httpForwardingMode: 'presigned' }), [], 'presigned needs no base URL');
  assert.deepEqual(problems({ cors: { allowedOrigins: ['https://a.example.com', 'http://localhost:5080'] } }), []);
});

test('the target is always under the base URL, whatever the key or query holds', () => {
  const base = new URL('https://mybucket.s3.us-east-1.amazonaws.com');
  assert.equal(objectUrl(base, plainKey('streams', 'x.mp4')), 'https://mybucket.s3.us-east-1.amazonaws.com/streams/x.mp4');
  assert.equal(objectUrl(new URL('http://127.0.0.1:9000/bucket/'), 'live/2026/11/22/a b.mp4', 'a=1'), 'http://127.0.0.1:9000/bucket/live/2026/11/22/a%20b.mp4?a=1');
  for (const key of ['/evil.com/x', '@evil.com/x', '\\\\evil.com/x', '//evil.com', 'x:y@evil.com', '%2F%2Fevil.com', 'a#@evil.com', 'a?x=@evil.com']) {
    const u = new URL(objectUrl(base, key));
    assert.equal(u.origin, base.origin, key);
    assert.equal(u.search, '', `no query from key ${key}`);
    assert.equal(u.hash, '', `no fragment from key ${key}`);
  }
  for (const bad of ['../x', 'a/../../x', './x']) assert.throws(() => objectUrl(base, bad), /dot segments/, bad);
  for (const query of ['x=//evil.com', 'r=@evil.com', 'u=https://evil.com/', 'a=%2F%2Fevil.com', 'a=\\evil.com']) {
    const u = new URL(objectUrl(base, 'streams/x.mp4', safeQuery(`/live/streams/x.mp4?${query}`)));
    assert.equal(u.origin, base.origin, query);
    assert.equal(u.pathname, '/streams/x.mp4', query);
  }
});

test('the query string is kept, made safe for a Location header', () => {
  assert.equal(safeQuery('/live/streams/x.mp4'), '');
  assert.equal(safeQuery('/live/streams/x.mp4?token=abc&exp=1'), 'token=abc&exp=1');
  assert.equal(safeQuery('/x?a=%2F%2Fevil.com&b=%zz'), 'a=%2F%2Fevil.com&b=%25zz');
  assert.equal(safeQuery('/x?a=b c"<>\\^`{|}'), 'a=b%20c%22%3C%3E%5C%5E%60%7B%7C%7D');
  assert.equal(safeQuery('/x?n=\u00e9'), 'n=%E9', 'latin1 bytes are encoded one by one');
  assert.equal(safeQuery('/x?a=1?b=2'), 'a=1?b=2');
  // The fast path (a query already safe, returned as it is) answers as the character-by-character walk does.
  const walk = (raw: string) => raw.replace(/%(?![0-9A-Fa-f]{2})|[^A-Za-z0-9\-._~!$&'()*+,;=:@/?%]/g, (c) => `%${(c.charCodeAt(0) & 0xff).toString(16).toUpperCase().padStart(2, '0')}`);
  const alphabet = ['%', '%', '2', 'F', 'z', 'a', '=', '&', ' ', '"', '?', '/', '\u00e9', '<'];
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  for (let n = 0; n < 20_000; n++) {
    let q = '';
    for (let i = next() % 10; i > 0; i--) q += alphabet[next() % alphabet.length];
    assert.equal(safeQuery(`/x?${q}`), walk(q), JSON.stringify(q));
  }
});

test('path guard refuses double-encoded separators and control characters too', () => {
  for (const bad of ['/live/streams/..%252f..%252fetc', '/live/streams/a%255cb', '/live/streams/a%2500.mp4', '/live/streams/a\rb', '/live/streams/a%0d%0aX:1', '/live/streams/%2e%2e%2f', '/%2e%2e/package.json', '/vendor/..%2fpackage.json', '/live/streams/%252E%252E/x', '/live/%2e/streams/x.mp4']) {
    assert.notEqual(pathProblem(bad), null, bad);
  }
  for (const ok of ['/live/streams/a..b.mp4', '/vendor/hls.min.js', '/play.html', '/live/streams/a%20b.mp4']) assert.equal(pathProblem(ok), null, ok);
});

test('bucket CORS rules: origin patterns and both GET and HEAD', () => {
  const rule = (origins: string[], methods = ['GET', 'HEAD']) => ({ AllowedOrigins: origins, AllowedMethods: methods });
  assert.ok(ruleAllows(rule(['*']), 'https://a.example.com'));
  assert.ok(ruleAllows(rule(['*']), '*'));
  assert.ok(ruleAllows(rule(['https://a.example.com']), 'https://a.example.com'));
  assert.ok(ruleAllows(rule(['https://*.example.com']), 'https://a.example.com'));
  assert.ok(!ruleAllows(rule(['https://*.example.com']), 'https://a.example.org'));
  assert.ok(!ruleAllows(rule(['https://a.example.com']), 'http://a.example.com'));
  assert.ok(!ruleAllows(rule(['https://a.example.com']), '*'));
  assert.ok(!ruleAllows(rule(['*'], ['GET']), 'https://a.example.com'), 'HEAD missing');
  assert.ok(!ruleAllows(rule(['https://a.example.com.evil.com']), 'https://a.example.com'));
  assert.ok(!ruleAllows(rule(['https://a.example.com']), 'https://a.example.com.evil.com'));
});
