/**
 * Streams an object from the bucket (or the CDN in front of it) through the
 * server with one pooled `http.request` per GET: Range, conditional requests
 * and HEAD pass through, the body is piped (never buffered), and a viewer who
 * goes away aborts the upstream request.
 *
 * Design note: the upstream URL is decided per request before the proxy runs
 * (base URL + key, or a pre-signed URL from the storage module, so no SigV4
 * code is needed here). A general-purpose proxy library (http-proxy-middleware,
 * used before) copied every header and wrapped every request in its own
 * machinery that this one GET does not need. Only a few request headers go upstream
 * (no cookies, no Authorization, no Origin: the bucket's own CORS must not
 * interfere with ours). Responses are handled here (`selfHandleResponse`) so
 * bucket errors become the server's JSON errors and upstream CORS headers are
 * dropped in favour of the app's.
 */
import http from 'node:http';
import https from 'node:https';
import type { Logger } from '../log/logger.js';
import { sendError } from '../http/fast-route.js';
import { MAX_PLAYLIST_BYTES, sendPlaylistText } from '../http/file-sender.js';
import { addTokenToPlaylist } from '../http/playlist-tokens.js';

/** Request headers passed upstream; every other one is dropped. */
const REQUEST_HEADERS = new Set(['host', 'range', 'if-range', 'if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'accept', 'user-agent']);
/** Request headers passed upstream for a playlist that is rewritten. */
const PLAYLIST_REQUEST_HEADERS = new Set(['host', 'accept', 'user-agent']);
/** Response headers passed back to the viewer. */
const RESPONSE_HEADERS = ['content-length', 'content-range', 'accept-ranges', 'etag', 'last-modified', 'cache-control', 'expires'];

export interface ProxyTarget {
  /** Full upstream URL (may carry a pre-signature in its query). */
  url: URL;
  /** Content type answered to the viewer (the bucket's may be generic). */
  contentType: string;
  /** Cache-Control answered when the bucket sends none. */
  cacheControl: string;
  /** Answer `cacheControl` whatever the bucket sends (a private app). */
  forceCacheControl?: boolean;
  /** A playlist of a private app: its URIs get this viewing token (read whole, rewritten, no Range). */
  playlistToken?: string;
  /** True when the URL is signed with our credentials: a 403 then means our credentials, not a missing file. */
  signed: boolean;
  /** What the viewer asked for, for messages: `streams/x.mp4`. */
  label: string;
}

export interface ObjectProxyOptions {
  log: Logger;
  /** Milliseconds the upstream connection may stay silent before it is dropped. */
  idleTimeoutMs?: number;
}

export class ObjectProxy {
  private readonly targets = new WeakMap<http.IncomingMessage, ProxyTarget>();
  /** Requests already sent upstream once (a stale pooled connection gets one more try). */
  private readonly retried = new WeakSet<http.IncomingMessage>();
  private readonly agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: 256 }),
    'https:': new https.Agent({ keepAlive: true, maxSockets: 256 }),
  };
  private readonly log: Logger;
  private readonly idleTimeoutMs: number;

  constructor(options: ObjectProxyOptions) {
    this.log = options.log;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  }

  /** Streams `target` to the viewer. */
  stream(req: http.IncomingMessage, res: http.ServerResponse, target: ProxyTarget): void {
    const protocol = target.url.protocol === 'https:' ? 'https:' : 'http:';
    this.targets.set(req, target);
    // A playlist to rewrite is fetched whole and fresh: its answer depends on the token, not on the viewer's cache.
    const keep = target.playlistToken ? PLAYLIST_REQUEST_HEADERS : REQUEST_HEADERS;
    const headers: http.OutgoingHttpHeaders = { host: target.url.host };
    for (const name of keep) {
      const v = req.headers[name];
      if (name !== 'host' && v !== undefined) headers[name] = v;
    }
    const upstream = (protocol === 'https:' ? https : http).request(
      target.url,
      { method: req.method === 'HEAD' ? 'HEAD' : 'GET', headers, agent: this.agents[protocol], timeout: this.idleTimeoutMs },
      (answer) => this.respond(answer, req, res),
    );
    upstream.on('timeout', () => upstream.destroy(Object.assign(new Error('the bucket stayed silent'), { code: 'ETIMEDOUT' })));
    upstream.on('error', (err) => this.failed(err, req, res));
    // A viewer who goes away aborts the upstream request.
    res.once('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    upstream.end();
  }

  /** Closes pooled upstream connections. */
  close(): void {
    this.agents['http:'].destroy();
    this.agents['https:'].destroy();
  }

  private target(req: http.IncomingMessage): ProxyTarget {
    const t = this.targets.get(req);
    if (!t) throw new Error('proxy target missing');
    return t;
  }

  private respond(upstream: http.IncomingMessage, req: http.IncomingMessage, res: http.ServerResponse): void {
    const target = this.target(req);
    const status = upstream.statusCode ?? 502;
    if (target.playlistToken && status === 200) return this.rewritePlaylist(upstream, req, res, target, target.playlistToken);
    if (status === 200 || status === 206 || status === 304) {
      for (const h of RESPONSE_HEADERS) {
        const v = upstream.headers[h];
        if (v !== undefined) res.setHeader(h, v);
      }
      res.setHeader('Content-Type', target.contentType);
      if (!upstream.headers['cache-control'] || target.forceCacheControl) res.setHeader('Cache-Control', target.cacheControl);
      res.statusCode = status;
      if (req.method === 'HEAD' || status === 304) {
        upstream.resume();
        res.end();
        return;
      }
      // Plain pipe, not stream.pipeline: pipeline makes an AbortController per call and aborts it (a DOMException)
      // at the end, a measurable share of proxy mode's CPU. A viewer who goes away destroys the upstream request
      // (stream()); an upstream that fails mid-body cuts the viewer off, so a short file is never taken as whole.
      upstream.on('error', (err) => {
        this.log.debug({ err: err.message, object: target.label }, 'proxied download ended early');
        res.destroy();
      });
      upstream.on('aborted', () => res.destroy());
      upstream.pipe(res);
      return;
    }
    upstream.resume(); // the bucket's XML error body is of no use to the viewer
    const upstreamWhere = `${target.url.origin}${target.url.pathname}`; // never the query: it may carry a signature
    if (status === 416) {
      if (upstream.headers['content-range']) res.setHeader('Content-Range', upstream.headers['content-range']);
      sendError(res, 416, 'range_not_satisfiable', `range not satisfiable for ${target.label}`);
    } else if (status === 404 || (status === 403 && !target.signed)) {
      // A public bucket answers 403 for a missing key when listing is not allowed.
      sendError(res, 404, 'not_found', `${target.label} not found (not on this server, not in the bucket)`);
    } else if (status === 403) {
      this.log.warn({ upstream: upstreamWhere, status }, 'bucket refused a signed request');
      sendError(res, 502, 'bucket_access_denied', 'the bucket refused access (check the storage credentials and bucket policy)');
    } else if (status >= 300 && status < 400) {
      this.log.warn({ upstream: upstreamWhere, status, location: String(upstream.headers.location ?? '').split('?')[0] }, 'bucket answered with a redirect');
      sendError(res, 502, 'bucket_redirect', 'the bucket answered with a redirect (wrong region or endpoint in httpForwardingBaseURL?)');
    } else {
      this.log.warn({ upstream: upstreamWhere, status }, 'bucket error');
      sendError(res, 502, 'bucket_error', `the bucket answered ${status}`);
    }
  }

  private rewritePlaylist(upstream: http.IncomingMessage, req: http.IncomingMessage, res: http.ServerResponse, target: ProxyTarget, token: string): void {
    if (req.method === 'HEAD') {
      // The rewritten length is unknown without the body (and the URL may be signed for HEAD only): no Content-Length.
      upstream.resume();
      res.statusCode = 200;
      res.setHeader('Content-Type', target.contentType);
      res.setHeader('Cache-Control', 'private, no-cache');
      res.end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    upstream.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_PLAYLIST_BYTES) {
        upstream.destroy();
        if (!res.headersSent) sendError(res, 502, 'playlist_too_large', `${target.label} is too large to serve`);
        return;
      }
      chunks.push(c);
    });
    upstream.on('end', () => {
      if (!res.headersSent) sendPlaylistText(req, res, addTokenToPlaylist(Buffer.concat(chunks).toString('utf8'), token));
    });
    upstream.on('error', () => res.destroy());
  }

  private failed(err: NodeJS.ErrnoException, req: http.IncomingMessage, res: http.ServerResponse): void {
    const target = this.targets.get(req);
    const upstream = target ? `${target.url.origin}${target.url.pathname}` : undefined;
    if (res.headersSent || res.destroyed) {
      // Mid-stream failure (or a viewer who left): nothing useful can be sent any more.
      res.destroy();
      return;
    }
    // A pooled keep-alive connection the bucket closed while idle fails at once on reuse
    // (ECONNRESET, "socket hang up"); GET and HEAD are safe to send once more on a new one.
    const stale = err.code === 'ECONNRESET' || err.code === 'EPIPE' || err.message === 'socket hang up';
    if (stale && target && !this.retried.has(req) && (req.method === 'GET' || req.method === 'HEAD')) {
      this.retried.add(req);
      this.log.debug({ upstream, err: err.code ?? err.message }, 'bucket connection was stale, trying once more');
      this.stream(req, res, target);
      return;
    }
    this.log.warn({ upstream, err: err.code ?? err.message }, 'bucket unreachable');
    sendError(res, 502, 'bucket_unreachable', `the bucket could not be reached (${err.code ?? err.message})`);
  }
}
