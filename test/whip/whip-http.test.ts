/**
 * The WHIP endpoint's answers to bad requests — malformed SDP, an
 * offer with no codec bucketcast records, wrong content type, oversized body,
 * unknown app, bad or busy stream id, a non-Bearer credential, unknown session
 * — each a 4xx with a message, while an RTMP publisher keeps recording.
 * Also: CORS preflight, and a wrong token reaching the publish authorizer.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import express from 'express';
import type { AddressInfo } from 'node:net';
import { startServer, type TestServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push, ffprobe } from '../helpers/media.js';
import { browserLikeOffer } from '../helpers/whip.js';
import { WhipServer } from '../../src/ingest/whip/whip-server.js';
import { StreamRegistry } from '../../src/ingest/stream-registry.js';
import { configSchema } from '../../src/config/schema.js';
import { createLogger } from '../../src/log/logger.js';
import type { PublishRequest } from '../../src/ingest/types.js';

let server: TestServer;
before(async () => {
  server = await startServer({ events: true, config: { whip: { connectTimeoutSeconds: 2 }, applications: [{ name: 'live', s3RecordingEnabled: false }] } });
});
after(async () => {
  await server.stop();
  server.cleanup();
});

interface Answer {
  status: number;
  headers: Headers;
  body: { error?: { code: string; message: string } };
}

async function post(pathname: string, body: string, headers: Record<string, string> = { 'Content-Type': 'application/sdp' }): Promise<Answer> {
  const res = await fetch(`${server.httpUrl}${pathname}`, { method: 'POST', headers, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : {} };
}

test('bad WHIP requests get a 4xx with a message and an RTMP publisher keeps recording', async () => {
  const src = await fixture({ seconds: 12 });
  const rtmp = push(server.rtmpUrl('live', 'steady'), src);
  const started = await server.events.waitFor('recording.started', (e) => e.streamId === 'steady', 15_000, 'rtmp recording started');

  const cases: Array<{ name: string; answer: () => Promise<Answer>; status: number; code: string; message: RegExp }> = [
    { name: 'malformed SDP', answer: () => post('/live/whip/cam', 'v=0\r\nthis is not an offer\r\n'), status: 400, code: 'bad_offer', message: /malformed or unusable SDP offer/ },
    { name: 'empty body', answer: () => post('/live/whip/cam', ''), status: 400, code: 'bad_offer', message: /no SDP offer/ },
    {
      name: 'no supported codec',
      answer: () => post('/live/whip/cam', browserLikeOffer({ videoCodecs: ['45 AV1/90000'] })),
      status: 400,
      code: 'no_supported_codec',
      message: /offers AV1; bucketcast records video H264, VP8 or VP9/,
    },
    {
      name: 'wrong content type',
      answer: () => post('/live/whip/cam', browserLikeOffer(), { 'Content-Type': 'application/json' }),
      status: 415,
      code: 'unsupported_media_type',
      message: /application\/sdp/,
    },
    { name: 'too large', answer: () => post('/live/whip/cam', `v=0\r\n${'a=x\r\n'.repeat(20_000)}`), status: 413, code: 'payload_too_large', message: /KiB/ },
    { name: 'unknown app', answer: () => post('/nope/whip/cam', browserLikeOffer()), status: 404, code: 'unknown_app', message: /unknown application "nope"/ },
    { name: 'bad stream id', answer: () => post('/live/whip/.hidden', browserLikeOffer()), status: 400, code: 'bad_stream_id', message: /may not start with "."/ },
    { name: 'stream id live over RTMP', answer: () => post('/live/whip/steady', browserLikeOffer()), status: 409, code: 'stream_busy', message: /already being published \(rtmp/ },
    {
      name: 'non-Bearer credential',
      answer: () => post('/live/whip/cam', browserLikeOffer(), { 'Content-Type': 'application/sdp', Authorization: 'Basic dTpw' }),
      status: 401,
      code: 'unauthorized',
      message: /Bearer/,
    },
  ];
  for (const c of cases) {
    const a = await c.answer();
    assert.equal(a.status, c.status, `${c.name}: ${JSON.stringify(a.body)}`);
    assert.equal(a.body.error?.code, c.code, c.name);
    assert.match(a.body.error?.message ?? '', c.message, c.name);
    assert.equal(a.headers.get('access-control-allow-origin'), '*', `${c.name}: browsers can read the error`);
    if (c.status === 401) assert.equal(a.headers.get('www-authenticate'), 'Bearer');
  }
  for (const method of ['DELETE', 'PATCH']) {
    const res = await fetch(`${server.httpUrl}/live/whip/cam/00000000-0000-0000-0000-000000000000`, { method, headers: { 'Content-Type': 'application/trickle-ice-sdpfrag' }, body: method === 'PATCH' ? 'a=end-of-candidates\r\n' : undefined });
    assert.equal(res.status, 404, `${method} of an unknown session`);
    assert.match(((await res.json()) as Answer['body']).error?.message ?? '', /no such WHIP session/);
  }
  const get = await fetch(`${server.httpUrl}/live/whip/cam`);
  assert.equal(get.status, 405);
  assert.equal(get.headers.get('allow'), 'POST, OPTIONS');

  // None of it touched the RTMP publisher: it ends normally and its recording is whole.
  const r = await rtmp.done;
  assert.equal(r.code, 0, r.stderr);
  await server.events.waitFor('recording.completed', (e) => e.name === started.name, 20_000, 'rtmp recording completed');
  const probed = await ffprobe(path.join(server.dataDir, 'live', 'streams', `${started.name}.mp4`));
  assert.ok(Math.abs(probed.duration - 12) < 0.5, `rtmp recording is complete: ${probed.duration}s`);
  assert.ok(!server.logs.some((l) => l.msg === 'publish accepted' && l.protocol === 'whip'), 'no WHIP publish was accepted');
  assert.ok(!server.logs.some((l) => l.level === 'error'), 'no error logged');
});

test('a publisher that never connects is dropped after connectTimeoutSeconds and its stream id is free again', async () => {
  // A well-formed offer whose ICE candidates lead nowhere: answered, then never connected.
  const first = await fetch(`${server.httpUrl}/live/whip/ghost`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: browserLikeOffer() });
  assert.equal(first.status, 201);
  assert.equal(first.headers.get('content-type'), 'application/sdp');
  assert.match(first.headers.get('location') ?? '', /^\/live\/whip\/ghost\/[0-9a-f-]{36}$/);
  assert.match(first.headers.get('etag') ?? '', /^"[\w-]+"$/);
  const answer = await first.text();
  assert.match(answer, /^v=0\r\n/);
  assert.match(answer, /a=recvonly/);
  assert.match(answer, /a=rtpmap:102 H264\/90000/, 'answers the offered H.264 payload type');
  assert.doesNotMatch(answer, /VP8/, 'and only it');
  assert.match(answer, /a=candidate:.* 127\.0\.0\.1 /, 'candidates gathered before answering');
  const busy = await post('/live/whip/ghost', browserLikeOffer());
  assert.equal(busy.status, 409, 'the id is taken while the session waits for ICE');
  const ended = await server.events.waitFor('stream.ended', (e) => e.protocol === 'whip' && e.streamId === 'ghost', 15_000, 'ghost session ended');
  assert.equal(ended.reason, 'ice/dtls connection timeout');
  const again = await fetch(`${server.httpUrl}/live/whip/ghost`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: browserLikeOffer() });
  assert.equal(again.status, 201, 'the id is free again');
  const del = await fetch(`${server.httpUrl}${again.headers.get('location')}`, { method: 'DELETE' });
  assert.equal(del.status, 200);
  assert.equal((await fetch(`${server.httpUrl}${again.headers.get('location')}`, { method: 'DELETE' })).status, 404, 'gone after DELETE');
  assert.deepEqual(server.events.all('recording.started', (e) => e.streamId === 'ghost'), [], 'nothing was recorded');
});

test('CORS preflight on the endpoint and on a session resource', async () => {
  const endpoint = await fetch(`${server.httpUrl}/live/whip/cam`, { method: 'OPTIONS', headers: { Origin: 'https://example.com', 'Access-Control-Request-Method': 'POST' } });
  assert.equal(endpoint.status, 204);
  assert.equal(endpoint.headers.get('accept-post'), 'application/sdp');
  assert.equal(endpoint.headers.get('access-control-allow-origin'), '*');
  assert.match(endpoint.headers.get('access-control-allow-methods') ?? '', /POST/);
  assert.match(endpoint.headers.get('access-control-allow-headers') ?? '', /Authorization/);
  assert.match(endpoint.headers.get('access-control-expose-headers') ?? '', /Location/);
  const resource = await fetch(`${server.httpUrl}/live/whip/cam/abc`, { method: 'OPTIONS' });
  assert.equal(resource.status, 204);
  assert.match(resource.headers.get('access-control-allow-methods') ?? '', /DELETE/);
  assert.equal(resource.headers.get('accept-patch'), 'application/trickle-ice-sdpfrag');
});

test('the Bearer token reaches the publish authorizer, and a refused one is a 401 saying only "unauthorized"', async () => {
  const seen: PublishRequest[] = [];
  const log = createLogger('silent');
  const registry = new StreamRegistry({
    log,
    authorizer: {
      authorize(req) {
        seen.push(req);
        return req.token === 'right' ? { ok: true } : { ok: false, code: 'unauthorized', reason: 'invalid publish token' };
      },
    },
  });
  const whip = new WhipServer({ settings: configSchema.parse({}).whip, registry, log });
  await whip.start();
  const app = express().use(whip.router);
  const http = app.listen(0, '127.0.0.1');
  await new Promise((r) => http.once('listening', r));
  try {
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/live/whip/cam`;
    for (const auth of ['Bearer wrong', undefined]) {
      const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp', ...(auth ? { Authorization: auth } : {}) }, body: browserLikeOffer() });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer');
      // The reason stays in the log: the publisher learns nothing about which keys exist.
      assert.deepEqual(await res.json(), { error: { code: 'unauthorized', message: 'unauthorized' } });
    }
    assert.deepEqual(
      seen.map((r) => [r.protocol, r.app, r.streamId, r.token]),
      [
        ['whip', 'live', 'cam', 'wrong'],
        ['whip', 'live', 'cam', undefined],
      ],
    );
    assert.equal(whip.list().length, 0, 'no session was created');
  } finally {
    http.close();
    await whip.stop();
  }
});
