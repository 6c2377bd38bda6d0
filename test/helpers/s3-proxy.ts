/**
 * A loopback HTTP proxy in front of an S3 server (s3rver or radosgw), so
 * every server the storage suite runs against gives the same ground truth:
 * - a log of the requests (method, bucket, key, part, the integrity and
 *   encryption headers they carried, who signed them, the status answered);
 * - successful object writes per key (PutObject, CompleteMultipartUpload),
 *   to prove nothing was uploaded twice;
 * - faults on request: answer a matching request with an S3 error, or pass
 *   it on and rewrite the ETag of the answer;
 * - outages: `halt()` stops listening and drops every connection,
 *   `restart()` listens again on the same port;
 * - fault windows (hardening suite): `failFor()` answers every request with
 *   rotating S3 errors for a while, `resetAfter()` resets the connection of
 *   matching requests once part of their body went through, `stall()` stops
 *   every byte in both directions (in flight and new requests) for a while,
 *   and `traffic` says when bytes were forwarded, to prove the silence.
 *
 * SigV4 signs the Host header, which is passed on unchanged, so the server
 * checks signatures as if it were reached directly.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface SeenRequest {
  method: string;
  bucket?: string;
  key?: string;
  /** Names of the query parameters (`uploads`, `uploadId`, `partNumber`, `list-type` …). */
  query: string[];
  partNumber?: number;
  uploadId?: string;
  contentMd5?: string;
  /** Access key id the request was signed with, and whether it carried a session token. */
  accessKeyId?: string;
  sessionToken: boolean;
  /** `x-amz-checksum-*`, `x-amz-sdk-checksum-algorithm`, `x-amz-trailer`, `content-encoding: aws-chunked` … */
  checksumHeaders: string[];
  /** Request headers that shape the object: `x-amz-server-side-encryption*`, `x-amz-acl`, `x-amz-checksum-*` … (not `x-amz-meta-*`, date or signature). */
  amz: Record<string, string>;
  /** Status of the answer (undefined while in flight or when the connection broke). */
  status?: number;
  /** When the request arrived. */
  at: number;
}

export interface Fault {
  /** Which requests it applies to. */
  match: (r: SeenRequest) => boolean;
  /** How many matching requests it applies to (default 1). */
  times?: number;
  /** Answer with this S3 error instead of passing the request on (its body is read first). */
  error?: { status: number; code: string; message: string };
  /** Pass the request on, then give the answer this ETag (header and XML; '' for none). */
  etag?: string;
}

export interface S3Proxy {
  endpoint: string;
  port: number;
  requests: SeenRequest[];
  /** Successful object writes (PutObject, CompleteMultipartUpload) per key of a bucket. */
  writes(bucket: string): Map<string, number>;
  inject(fault: Fault): void;
  halt(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
  /** Answers every request with these errors in turn for `ms` milliseconds (from now). */
  failFor(ms: number, errors: Array<{ status: number; code: string; message: string }>): void;
  /** Resets (TCP RST) the client connection of matching requests once `afterBytes` of their body were forwarded. */
  resetAfter(match: (r: SeenRequest) => boolean, afterBytes: number, times?: number): void;
  /** Forwards no byte either way, for requests in flight and new ones, for `ms` milliseconds (from now); resolves when it ends. */
  stall(ms: number): Promise<number>;
  /**
   * Starts a `stall(ms)` once a matching request has forwarded `afterBytes` of its body (so it
   * stalls mid-request); resolves with when the stall started and ended.
   */
  stallAfter(match: (r: SeenRequest) => boolean, afterBytes: number, ms: number): Promise<{ from: number; to: number; trigger: SeenRequest }>;
  /** When bytes went through (request bodies up, answers down): one entry per chunk. */
  traffic: Array<{ at: number; bytes: number; dir: 'up' | 'down' }>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'expect', 'proxy-connection', 'upgrade']);
const SKIP_AMZ = /^x-amz-(date|content-sha256|security-token|meta-|user-agent|decoded-content-length)/;

function passOn(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) out[k] = v;
  return out;
}

/** What a request is, as the log keeps it. */
export function describe(req: http.IncomingMessage): SeenRequest {
  const url = new URL(req.url ?? '/', 'http://proxy');
  const m = /^\/([^/]+)(?:\/(.*))?$/.exec(url.pathname);
  const h = req.headers;
  const cred = /Credential=([^/]+)\//.exec(h.authorization ?? '');
  const amz: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (k.startsWith('x-amz-') && !SKIP_AMZ.test(k)) amz[k] = String(v);
  return {
    method: req.method ?? 'GET',
    bucket: m ? decodeURIComponent(m[1]) : undefined,
    key: m?.[2] ? m[2].split('/').map(decodeURIComponent).join('/') : undefined,
    query: [...url.searchParams.keys()],
    partNumber: url.searchParams.has('partNumber') ? Number(url.searchParams.get('partNumber')) : undefined,
    uploadId: url.searchParams.get('uploadId') ?? undefined,
    contentMd5: typeof h['content-md5'] === 'string' ? h['content-md5'] : undefined,
    accessKeyId: cred?.[1],
    sessionToken: 'x-amz-security-token' in h,
    at: Date.now(),
    checksumHeaders: Object.keys(h).filter((k) => /^x-amz-(checksum-|sdk-checksum|trailer|decoded-content-length)/.test(k) || (k === 'content-encoding' && /aws-chunked/.test(String(h[k])))),
    amz,
  };
}

/** True for PutObject and CompleteMultipartUpload (not UploadPart, not ACL or tagging writes). */
function isObjectWrite(r: SeenRequest): boolean {
  if (!r.key) return false;
  if (r.method === 'PUT') return !r.query.some((q) => ['partNumber', 'uploadId', 'acl', 'tagging', 'retention', 'legal-hold'].includes(q));
  return r.method === 'POST' && r.query.includes('uploadId');
}

function errorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>proxy</RequestId></Error>`;
}

export async function startS3Proxy(upstream: string): Promise<S3Proxy> {
  const up = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true });
  const requests: SeenRequest[] = [];
  const writes = new Map<string, Map<string, number>>();
  const faults: Array<Fault & { left: number }> = [];
  const sockets = new Set<Socket>();
  let server: http.Server | undefined;
  let port = 0;

  const traffic: S3Proxy['traffic'] = [];
  let failUntil = 0;
  let failErrors: Array<{ status: number; code: string; message: string }> = [];
  let failed = 0;
  const resets: Array<{ match: (r: SeenRequest) => boolean; afterBytes: number; left: number }> = [];
  let stallTrigger: { match: (r: SeenRequest) => boolean; afterBytes: number; ms: number; fire: (r: SeenRequest) => void } | undefined;
  // A flag, not a deadline: on a loaded machine the timer that ends a stall fires late, and bytes must not
  // slip through between the deadline and the moment the stall is seen to end.
  let stalled = false;
  const held = new Set<() => void>();
  const isStalled = () => stalled;

  /** Resolves with the moment the stall ended: before what it held is let go (that may take a while). */
  const stall = async (ms: number): Promise<number> => {
    stalled = true;
    await new Promise((r) => setTimeout(r, ms));
    stalled = false;
    const ended = Date.now();
    const waiting = [...held];
    held.clear();
    for (const h of waiting) h();
    return ended;
  };

  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const seen = describe(req);
    requests.push(seen);
    // A stalled server accepts the connection and says nothing until the stall ends.
    if (isStalled()) {
      req.pause();
      held.add(() => {
        if (!req.socket.destroyed) forward(req, res, seen);
      });
      return;
    }
    forward(req, res, seen);
  };

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, seen: SeenRequest) => {
    if (Date.now() < failUntil && failErrors.length) {
      const e = failErrors[failed++ % failErrors.length];
      req.resume();
      req.once('end', () => {
        seen.status = e.status;
        const body = req.method === 'HEAD' ? '' : errorXml(e.code, e.message);
        res.writeHead(e.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
      return;
    }
    const reset = resets.find((r) => r.left > 0 && r.match(seen));
    if (reset) reset.left--;
    const trigger = stallTrigger?.match(seen) ? stallTrigger : undefined;
    const fault = faults.find((f) => f.left > 0 && f.match(seen));
    if (fault) fault.left--;
    if (fault?.error) {
      const { status, code, message } = fault.error;
      req.resume();
      req.once('end', () => {
        seen.status = status;
        const body = req.method === 'HEAD' ? '' : errorXml(code, message);
        res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
      return;
    }
    const out = http.request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: passOn(req.headers), agent }, (answer) => {
      seen.status = answer.statusCode;
      if (answer.statusCode === 200 && isObjectWrite(seen) && seen.bucket && seen.key) {
        const perBucket = writes.get(seen.bucket) ?? new Map<string, number>();
        writes.set(seen.bucket, perBucket);
        perBucket.set(seen.key, (perBucket.get(seen.key) ?? 0) + 1);
      }
      const headers = passOn(answer.headers);
      if (fault?.etag === undefined) {
        res.writeHead(answer.statusCode ?? 502, headers);
        pump(answer, res, 'down');
        return;
      }
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () => {
        const etag = fault.etag ? `"${fault.etag}"` : '';
        let body = Buffer.concat(chunks).toString('utf8');
        body = body.replace(/<ETag>[^<]*<\/ETag>/, `<ETag>${etag.replace(/"/g, '&quot;')}</ETag>`);
        if ('etag' in headers) headers.etag = etag || '""';
        headers['content-length'] = Buffer.byteLength(body);
        res.writeHead(answer.statusCode ?? 502, headers);
        res.end(body);
      });
    });
    out.on('error', () => res.destroy());
    // A client that gives up (an aborted upload) cuts the server's request off at once, as a direct connection would.
    req.on('close', () => {
      if (!req.complete) out.destroy();
    });
    // A request the server received whole is left to finish even when the client has gone: the server may
    // still store the object, and the write must be counted.
    res.on('close', () => {
      if (!res.writableFinished && !req.complete) out.destroy();
    });
    let sent = 0;
    pump(req, out, 'up', (n) => {
      sent += n;
      if (reset && sent >= reset.afterBytes) {
        // Mid-body, as a dropped connection or a load balancer reset looks to the client.
        req.socket.resetAndDestroy();
        out.destroy();
        return false;
      }
      if (trigger && trigger === stallTrigger && sent >= trigger.afterBytes) {
        stallTrigger = undefined;
        trigger.fire(seen);
      }
      return true;
    });
  };

  /**
   * Copies a stream chunk by chunk, logging the traffic; while the proxy is
   * stalled the chunk is held (and the source paused) until the stall ends.
   */
  const pump = (from: http.IncomingMessage, to: NodeJS.WritableStream & { destroyed?: boolean }, dir: 'up' | 'down', onChunk?: (n: number) => boolean) => {
    const write = (chunk: Buffer) => {
      traffic.push({ at: Date.now(), bytes: chunk.length, dir });
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    };
    from.on('data', (chunk: Buffer) => {
      if (onChunk && !onChunk(chunk.length)) return;
      if (!isStalled()) return write(chunk);
      from.pause();
      held.add(() => {
        write(chunk);
        from.resume();
      });
    });
    from.on('end', () => {
      if (!isStalled()) return void to.end();
      held.add(() => to.end());
    });
  };

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = http.createServer(handle);
      s.on('connection', (socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as AddressInfo).port;
        server = s;
        resolve();
      });
    });
  const halt = async () => {
    const s = server;
    server = undefined;
    if (!s) return;
    const closed = new Promise((r) => s.close(r));
    for (const socket of sockets) socket.destroy();
    await closed;
  };
  await listen();

  return {
    endpoint: `http://127.0.0.1:${port}`,
    get port() {
      return port;
    },
    requests,
    writes: (bucket) => new Map(writes.get(bucket) ?? []),
    inject: (fault) => void faults.push({ ...fault, left: fault.times ?? 1 }),
    halt,
    async restart() {
      await halt();
      await listen();
    },
    async close() {
      stalled = false;
      for (const h of [...held]) h();
      held.clear();
      await halt();
      agent.destroy();
    },
    failFor(ms, errors) {
      failUntil = Date.now() + ms;
      failErrors = errors;
    },
    resetAfter(match, afterBytes, times = 1) {
      resets.push({ match, afterBytes, left: times });
    },
    stall,
    stallAfter(match, afterBytes, ms) {
      return new Promise((resolve) => {
        stallTrigger = {
          match,
          afterBytes,
          ms,
          fire: (trigger) => {
            const from = Date.now();
            void stall(ms).then((to) => resolve({ from, to, trigger }));
          },
        };
      });
    },
    traffic,
  };
}
