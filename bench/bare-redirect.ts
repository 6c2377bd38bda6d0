/**
 * The baseline for bench/forward.ts: a bare node `http` server answering every
 * request with the same 302 bucketcast's redirect mode answers. Prints its port.
 * Usage: node --import tsx bench/bare-redirect.ts <base-url>
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const base = process.argv[2];
if (!base) throw new Error('usage: bare-redirect.ts <base-url>');
const server = http.createServer((req, res) => {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  // Same mapping as redirect mode for /<app>/streams/<file>: drop the app segment.
  const path = (q < 0 ? url : url.slice(0, q)).replace(/^\/[^/]+/, '');
  res.statusCode = 302;
  res.setHeader('Location', `${base}${path}${q < 0 ? '' : url.slice(q)}`);
  res.setHeader('Content-Length', '0');
  res.end();
});
server.keepAliveTimeout = 5_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
