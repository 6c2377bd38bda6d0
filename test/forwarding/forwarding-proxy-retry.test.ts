/**
 * Regression: a pooled keep-alive connection that the bucket closed while idle
 * used to turn the next proxied request into a 502 ("bucket unreachable").
 * GET and HEAD now get one more try on a fresh connection.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { pino } from 'pino';
import { ObjectProxy } from '../../src/forwarding/object-proxy.js';

test('a stale pooled upstream connection is retried once, not answered with 502', async () => {
  // The "bucket": answers the first request on each connection, then drops the connection
  // without answering the next one, as a server does when its keep-alive timer fires.
  let served = 0;
  let dropped = 0;
  const bucket = http.createServer((req, res) => {
    const socket = req.socket as typeof req.socket & { count?: number };
    socket.count = (socket.count ?? 0) + 1;
    if (socket.count > 1) {
      dropped++;
      socket.destroy();
      return;
    }
    served++;
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': 5 });
    res.end('hello');
  });
  await new Promise<void>((r) => bucket.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(bucket.address() as AddressInfo).port}`;
  const proxy = new ObjectProxy({ log: pino({ level: 'silent' }) });
  const app = express();
  app.get('/obj', (req, res) =>
    proxy.stream(req, res, { url: new URL(`${origin}/bucket/obj`), contentType: 'video/mp4', cacheControl: 'no-cache', signed: false, label: 'streams/obj' }),
  );
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/obj`;
  try {
    for (let i = 0; i < 3; i++) {
      const res = await fetch(url);
      assert.equal(res.status, 200, `request ${i + 1}`);
      assert.equal(await res.text(), 'hello');
    }
    assert.equal(served, 3);
    assert.ok(dropped >= 1, 'the pooled connection was reused and dropped at least once');
  } finally {
    proxy.close();
    server.close();
    bucket.close();
  }
});
