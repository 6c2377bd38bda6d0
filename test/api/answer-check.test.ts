/**
 * With BUCKETCAST_CHECK_ANSWERS=1 a route checks its JSON answer against the
 * schema it declares for the status: a wrong shape is a 500
 * `answer_schema_mismatch`, logged with zod's issues but never the answer
 * (it may hold a secret). Without it the answer goes out as the handler made it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import express, { Router } from 'express';
import { apiErrorHandler, mount, route } from '../../src/api/http.js';
import { z } from '../../src/api/schema.js';
import { Credential } from '../../src/api/answers.js';
import { createLogger } from '../../src/log/logger.js';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

/** A server of routes whose handlers answer a wrong shape, built with the check on or off. */
async function serve(check: boolean) {
  const before = process.env.BUCKETCAST_CHECK_ANSWERS;
  if (check) process.env.BUCKETCAST_CHECK_ANSWERS = '1';
  else delete process.env.BUCKETCAST_CHECK_ANSWERS;
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const log = createLogger('info', new Writable({ write(chunk, _enc, cb) { raw.push(String(chunk)); lines.push(JSON.parse(String(chunk))); cb(); } }));
  const router = Router();
  mount(router, [
    // `requeued` a string, and a secret in the answer: wrong.
    route({ method: 'get', path: '/wrong', responses: { 200: z.object({ recordingId: z.string(), requeued: z.int() }) }, handler: () => ({ recordingId: 'r1', requeued: 'three', secret: SECRET }) }),
    // A component: `sid` not a credential id, `usedBy` missing.
    route({ method: 'get', path: '/credential', responses: { 200: Credential }, handler: () => ({ sid: SECRET, friendlyName: 'x', accessKeyIdHint: 'AK…LE', dateCreated: '2026-01-01T00:00:00.000Z', dateUpdated: '2026-01-01T00:00:00.000Z', url: '/c' }) }),
    // A status the route does not declare.
    route({ method: 'post', path: '/status', responses: { 201: z.object({ ok: z.boolean() }) }, handler: () => ({ ok: true }) }),
    // Right: a Date goes out as its ISO string, which is what is checked.
    route({ method: 'get', path: '/right', responses: { 200: z.object({ at: z.string(), n: z.int() }) }, handler: () => ({ at: new Date(0), n: 1 }) }),
  ]);
  const app = express();
  app.use('/api/v1', router);
  app.use(apiErrorHandler(log));
  if (before === undefined) delete process.env.BUCKETCAST_CHECK_ANSWERS;
  else process.env.BUCKETCAST_CHECK_ANSWERS = before;
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
  return { base, lines, raw, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

test('check on: a wrong shape is a 500 answer_schema_mismatch, logged with its issues and never the answer', async () => {
  const s = await serve(true);
  try {
    const r = await fetch(`${s.base}/wrong`);
    assert.equal(r.status, 500);
    const body = (await r.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'answer_schema_mismatch');
    assert.match(body.error.message, /GET \/wrong/);
    assert.ok(!JSON.stringify(body).includes(SECRET));
    const line = s.lines.find((l) => l.msg === 'answer does not match its declared schema');
    assert.ok(line, 'the mismatch is logged');
    assert.equal(line.route, 'GET /wrong');
    assert.equal(line.status, 200);
    assert.deepEqual((line.issues as Array<{ path: string }>).map((i) => i.path), ['requeued']);

    const c = await fetch(`${s.base}/credential`);
    assert.equal(c.status, 500);
    assert.equal(((await c.json()) as { error: { code: string } }).error.code, 'answer_schema_mismatch');
    const cl = s.lines.filter((l) => l.route === 'GET /credential').at(-1)!;
    assert.deepEqual((cl.issues as Array<{ path: string }>).map((i) => i.path).sort(), ['sid', 'usedBy']);

    const st = await fetch(`${s.base}/status`, { method: 'POST' });
    assert.equal(st.status, 500);
    const sl = s.lines.filter((l) => l.route === 'POST /status').at(-1)!;
    assert.equal((sl.issues as Array<{ code: string }>)[0].code, 'undeclared_status');

    const ok = await fetch(`${s.base}/right`);
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { at: '1970-01-01T00:00:00.000Z', n: 1 });
    assert.ok(!s.raw.join('').includes(SECRET), 'no answer in the log');
  } finally {
    await s.close();
  }
});

test('check off (env unset): the answer passes through as the handler made it', async () => {
  const s = await serve(false);
  try {
    const r = await fetch(`${s.base}/wrong`);
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { recordingId: 'r1', requeued: 'three', secret: SECRET });
    const c = await fetch(`${s.base}/status`, { method: 'POST' });
    assert.equal(c.status, 200);
    assert.equal(s.lines.length, 0, 'nothing logged');
  } finally {
    await s.close();
  }
});
