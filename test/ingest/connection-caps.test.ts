/**
 * Caps on HTTP connections, RTMP connections, WHIP
 * sessions and publishers (global, per address with IPv6 by /64, per app
 * `maxPublishers`); refusals counted in /metrics and logged at a bounded rate;
 * the open-publishing warning. Before: no cap at all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, until } from '../helpers/server.js';
import { adminEnv } from '../helpers/api.js';
import { fixture } from '../helpers/fixtures.js';
import { push } from '../helpers/media.js';
import { browserLikeOffer } from '../helpers/whip.js';
import { flood } from '../helpers/descriptors.js';
import { addressKey, hostOf } from '../../src/limits/address-key.js';
import { ConnectionLimiter } from '../../src/limits/connection-limiter.js';
import { publisherCaps } from '../../src/ingest/publisher-caps.js';
import { openPublishingWarning } from '../../src/apps/open-publishing.js';
import { createLogger } from '../../src/log/logger.js';

test('addresses are keyed per IPv4 address and per IPv6 /64', () => {
  assert.equal(addressKey('198.51.100.7'), '198.51.100.7');
  assert.equal(addressKey('::ffff:198.51.100.7'), '198.51.100.7');
  assert.equal(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:2:ffff:eeee:dddd:cccc'), 'one /64');
  assert.notEqual(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:3::1'), 'another /64');
  assert.equal(addressKey('2001:0db8:0001:0002::1'), '2001:db8:1:2::/64');
  assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(hostOf('198.51.100.7:1935'), '198.51.100.7');
  assert.equal(hostOf('::ffff:127.0.0.1:40000'), '::ffff:127.0.0.1');
  assert.equal(hostOf('[2001:db8::1]:443'), '2001:db8::1');
  assert.equal(hostOf('2001:db8::1'), '2001:db8::1');
});

test('the limiter: global and per-address caps, releases, the host itself not capped per address, refusals logged at a bounded rate', () => {
  const lines: string[] = [];
  const log = createLogger('warn', { write: (l: string) => void lines.push(l) } as unknown as NodeJS.WritableStream);
  const refused: string[] = [];
  const l = new ConnectionLimiter({ kind: 'rtmp', max: 5, maxPerIp: 2, log, onRefused: (k, s) => refused.push(`${k}/${s}`) });
  const a1 = l.acquire('2001:db8:1:2::1');
  const a2 = l.acquire('2001:db8:1:2::2');
  assert.ok(a1.ok && a2.ok);
  assert.deepEqual(l.acquire('2001:db8:1:2::3'), { ok: false, scope: 'per_ip' }, 'a third from the same /64');
  assert.ok(l.acquire('2001:db8:1:3::1').ok, 'another /64');
  a1.release();
  a1.release();
  assert.ok(l.acquire('2001:db8:1:2::9').ok, 'a released place can be taken again (once)');
  assert.ok(l.acquire('127.0.0.1').ok && l.size === 4);
  assert.ok(l.acquire('127.0.0.1').ok, 'loopback has no per-address cap');
  assert.deepEqual(l.acquire('127.0.0.1'), { ok: false, scope: 'global' }, 'but the global cap holds');
  for (let i = 0; i < 100; i++) l.acquire('198.51.100.1');
  assert.equal(refused.length, 102);
  assert.equal(lines.filter((x) => x.includes('connection refused: limit reached')).length, 1, 'one log line for 102 refusals within 10 s');
});

test('publisher caps: per app maxPublishers and per address', () => {
  const noop = () => undefined;
  const live = [
    { app: 'live', remoteAddress: '198.51.100.7:5000' },
    { app: 'other', remoteAddress: '198.51.100.7:5001' },
  ];
  assert.equal((publisherCaps({ app: 'live', remoteAddress: '203.0.113.1:1' }, live, 1, 0, noop) as { code?: string } | null)?.code, 'too_many_publishers');
  assert.equal(publisherCaps({ app: 'live', remoteAddress: '203.0.113.1:1' }, live, 2, 0, noop), null);
  assert.equal((publisherCaps({ app: 'third', remoteAddress: '198.51.100.7:6000' }, live, 0, 2, noop) as { code?: string } | null)?.code, 'too_many_publishers', 'two from that address already');
  assert.equal(publisherCaps({ app: 'third', remoteAddress: '198.51.100.8:6000' }, live, 0, 2, noop), null);
  assert.equal(publisherCaps({ app: 'third', remoteAddress: '127.0.0.1:6000' }, [...live, { app: 'x', remoteAddress: '127.0.0.1:1' }, { app: 'y', remoteAddress: '127.0.0.1:2' }], 0, 2, noop), null, 'loopback not capped per address');
});

test('open publishing: a warning on a non-loopback address while an app accepts anyone', () => {
  const open = { name: 'live', publishSecurity: { mode: 'none' } };
  const keyed = { name: 'keyed', publishSecurity: { mode: 'streamKeys' } };
  assert.deepEqual(openPublishingWarning('0.0.0.0', [open, keyed])?.apps, ['live']);
  assert.equal(openPublishingWarning('::', [open])?.code, 'open_publishing');
  assert.equal(openPublishingWarning('127.0.0.1', [open]), null);
  assert.equal(openPublishingWarning('::1', [open]), null);
  assert.equal(openPublishingWarning('0.0.0.0', [keyed]), null);
});

test('the server refuses connections, WHIP sessions and publishers past their caps and counts them in /metrics', async () => {
  const src = await fixture({ seconds: 10, width: 426, height: 240, fps: 25, videoKbps: 300 });
  const server = await startServer({
    events: true,
    env: adminEnv(),
    config: {
      server: { limits: { httpConnectionsPerIp: 5, rtmpConnectionsPerIp: 3, whipSessionsPerIp: 2 } },
      api: { metrics: { public: true } },
      applications: [
        { name: 'live', s3RecordingEnabled: false, maxPublishers: 1, previews: { enabled: false } },
        { name: 'cams', s3RecordingEnabled: false, previews: { enabled: false } },
      ],
    },
  });
  const floods: Array<Awaited<ReturnType<typeof flood>>> = [];
  try {
    floods.push(await flood(server.httpPort, 8));
    floods.push(await flood(server.rtmpPort, 6));
    await until(() => floods[0].closedByServer() === 3 && floods[1].closedByServer() === 3, 3_000, 'the connections past the per-address caps closed at once');
    assert.ok(floods[0].firstLines.every((l) => l === 'HTTP/1.1 503 Service Unavailable'), `HTTP refusals answered 503 (${floods[0].firstLines.join(', ')})`);
    assert.equal((await fetch(`${server.httpUrl}/healthz`)).status, 200, 'another address is served meanwhile');

    // WHIP: sessions from one client address (through the loopback proxy, X-Forwarded-For).
    const offer = (ip: string) => fetch(`${server.httpUrl}/cams/whip/cam-${Math.random().toString(36).slice(2, 8)}`, { method: 'POST', headers: { 'content-type': 'application/sdp', 'x-forwarded-for': ip }, body: browserLikeOffer() });
    const first = await Promise.all([offer('198.51.100.9'), offer('198.51.100.9')]);
    assert.deepEqual(first.map((r) => r.status), [201, 201]);
    const third = await offer('198.51.100.9');
    assert.equal(third.status, 429, 'a third session from that address');
    assert.equal(((await third.json()) as { error: { code: string } }).error.code, 'too_many_sessions');
    assert.equal((await offer('198.51.100.10')).status, 201, 'another address may');

    // maxPublishers 1 on app live: one RTMP publisher, a second refused.
    const firstPush = push(server.rtmpUrl('live', 'first'), src);
    await server.events.waitFor('stream.started', (e) => e.streamId === 'first', 20_000, 'first publisher accepted');
    const second = push(server.rtmpUrl('live', 'second'), src);
    const refused = await server.events.waitFor('stream.refused', (e) => e.streamId === 'second', 20_000, 'second publisher refused');
    assert.equal(refused.code, 'too_many_publishers');
    await second.stop();
    await firstPush.stop();

    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
    const value = (kind: string, scope: string) => Number(new RegExp(`bucketcast_connections_refused_total\\{kind="${kind}",scope="${scope}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
    assert.equal(value('http', 'per_ip'), 3, metrics.split('\n').filter((l) => l.includes('refused')).join('\n'));
    assert.equal(value('rtmp', 'per_ip'), 3);
    assert.equal(value('whip', 'per_ip'), 1);
    assert.equal(value('publish', 'app'), 1);
    assert.ok(server.logs.some((l) => l.msg === 'connection refused: limit reached' && l.kind === 'http'), 'refusals logged');
    assert.ok(!server.logs.some((l) => l.code === 'open_publishing'), 'no open-publishing warning on loopback');
  } finally {
    for (const f of floods) f.destroy();
    await server.stop();
    server.cleanup();
  }
});
