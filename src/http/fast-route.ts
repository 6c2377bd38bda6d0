/**
 * Routes answered on node's own request objects, before express: the media
 * URLs every viewer hits (`/<app>/streams/<file>`, `/<app>/previews/<file>`).
 *
 * Why: a profile of `npm run bench:forward` showed express 5's router (its
 * layer walk, param processing and the setImmediate hops between routers)
 * taking more time per redirect than the redirect itself. A fast route runs
 * after the same drain check and path guard as every express route (see
 * `HttpServer`), and answers errors in the same JSON shape.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** What the server tells a fast route about a request. */
export interface FastContext {
  /** The client's address, as express's `req.ip` gives it (X-Forwarded-For from trusted proxies only). */
  clientIp(req: IncomingMessage): string;
}

/** Answers the request and returns true, or returns false to hand it to express. */
export type FastRoute = (req: IncomingMessage, res: ServerResponse, ctx: FastContext) => boolean;

/** The server's JSON error answer (`{ error: { code, message } }`), without express. */
export function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

/** A request header as one string (the first value when repeated), or undefined. */
export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Adds a field to the `Vary` header once. */
export function vary(res: ServerResponse, field: string): void {
  const cur = res.getHeader('Vary');
  const list = cur === undefined ? [] : String(cur).split(/\s*,\s*/).filter(Boolean);
  if (!list.some((f) => f.toLowerCase() === field.toLowerCase() || f === '*')) res.setHeader('Vary', [...list, field].join(', '));
}
