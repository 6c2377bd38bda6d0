/**
 * Hostile HTTP requests as a table: each row is a request — raw
 * bytes, for what no HTTP client would send, or method/path/headers/body —
 * and what a clear refusal looks like. The hostile-http test runs every row
 * against a real server. Routes added later (the REST API, admin login, the
 * ws channel) get their unauthenticated and malformed calls as more rows:
 * `{ name, method: 'GET', path: '/api/…', expect: { status: [401] } }`.
 */
import net from 'node:net';

export interface HostileCase {
  name: string;
  /** Bytes written as they are (a malformed request); the other request fields are ignored. */
  raw?: string | Buffer;
  method?: string;
  /** Sent as it is on the request line (no normalization, unlike fetch). */
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  expect: {
    /** Acceptable statuses; a refusal by default is any 4xx. */
    status?: number[];
    /** The connection may be closed without an answer (protocol garbage). */
    closedOk?: boolean;
  };
}

export interface RawResponse {
  /** 0 when the server closed the connection without an answer. */
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The whole answer as received. */
  raw: Buffer;
}

/** Sends one request over a fresh connection and reads the answer until the server closes it. */
export function sendRaw(port: number, data: string | Buffer, timeoutMs = 15_000): Promise<RawResponse> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(parse(Buffer.concat(chunks)));
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('data', (d) => {
      chunks.push(d);
      const r = parse(Buffer.concat(chunks));
      const len = Number(r.headers['content-length']);
      // A complete answer with a length: no need to wait for the close.
      if (r.status && Number.isFinite(len) && r.body.length >= len) finish();
    });
    socket.on('error', finish);
    socket.on('close', finish);
    socket.on('connect', () => socket.write(data));
  });
}

function parse(raw: Buffer): RawResponse {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, headers: {}, body: Buffer.alloc(0), raw };
  const head = raw.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '')?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status, headers, body: raw.subarray(end + 4), raw };
}

/** The bytes of a row's request. */
export function requestBytes(c: HostileCase): string | Buffer {
  if (c.raw !== undefined) return c.raw;
  const body = c.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(c.body) ? c.body : Buffer.from(c.body);
  const headers: Record<string, string> = { host: '127.0.0.1', connection: 'close', ...c.headers };
  if (body.length && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length' || h.toLowerCase() === 'transfer-encoding')) headers['content-length'] = String(body.length);
  const head = `${c.method ?? 'GET'} ${c.path ?? '/'} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/** `..`-style payloads that try to leave a folder, raw and encoded every way. */
export const TRAVERSALS = [
  '../../../../etc/passwd',
  '..%2f..%2f..%2f..%2fetc%2fpasswd',
  '%2e%2e/%2e%2e/%2e%2e/etc/passwd',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '%252e%252e%252f%252e%252e%252fetc%252fpasswd',
  '..%5c..%5c..%5cetc%5cpasswd',
  '..\\..\\..\\etc\\passwd',
  '%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd',
  '..%c0%af..%c0%afetc%c0%afpasswd',
  '....//....//....//etc/passwd',
  '.%2e/.%2e/.%2e/etc/passwd',
  '..;/..;/..;/etc/passwd',
  'x%00.mp4',
  '..%00/etc/passwd',
  '%2fetc%2fpasswd',
  '/etc/passwd',
  '.bucketcast.db',
  '..%2fbucketcast.db',
  '..%2f..%2fsecret.key',
];

/** Paths that try to make a redirect (or a link) point at another host. */
export const OFFSITE = [
  '//evil.example',
  '//evil.example/%2e%2e',
  '///evil.example',
  '/\\evil.example',
  '/%2F%2Fevil.example',
  '/%5Cevil.example',
  '/%2f%2fevil.example%2f',
  '/\t/evil.example',
  '/vendor//evil.example',
  '//evil.example@127.0.0.1/',
  '/.//evil.example',
];
