/**
 * Method and CORS rules of the media URLs (`/<app>/streams/<file>`,
 * `/<app>/previews/<file>`), mounted before the media routes so they hold for
 * local and forwarded files alike: GET and HEAD are served, OPTIONS is
 * answered here (CORS preflight or a plain `Allow`), every other method gets
 * 405 with an `Allow` header. CORS headers follow the app's `cors` settings.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CorsSettings } from '../config/forwarding-schema.js';
import type { MediaRequest } from '../http/media-routes.js';
import { header, sendError, vary } from '../http/fast-route.js';

const ALLOW = 'GET, HEAD, OPTIONS';
/** Headers a player may read from a cross-origin media response. */
const EXPOSE = 'Content-Length, Content-Range, Accept-Ranges, ETag, Last-Modified';
/** A header-name list as browsers send it in Access-Control-Request-Headers. */
const HEADER_LIST = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/;

/** The media routes' `policy`: answers OPTIONS and other methods (true), or sets the CORS headers and lets GET/HEAD go on (false). */
export function mediaPolicy(req: IncomingMessage, res: ServerResponse, media: MediaRequest): boolean {
  const app = media.settings;
  const allowedOrigin = applyCors(req, res, app.cors);
  if (req.method === 'OPTIONS') {
    res.setHeader('Allow', ALLOW);
    const wanted = header(req, 'access-control-request-method');
    if (allowedOrigin && wanted) {
      // Only GET and HEAD are ever allowed; other methods get no grant and the browser refuses them.
      if (wanted === 'GET' || wanted === 'HEAD') res.setHeader('Access-Control-Allow-Methods', ALLOW);
      const headers = header(req, 'access-control-request-headers');
      if (headers && HEADER_LIST.test(headers.trim())) res.setHeader('Access-Control-Allow-Headers', headers.trim());
      res.setHeader('Access-Control-Max-Age', String(app.cors.maxAgeSeconds));
    }
    res.statusCode = 204;
    res.end();
    return true;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', ALLOW);
    sendError(res, 405, 'method_not_allowed', `${req.method} is not allowed on media files (${ALLOW})`);
    return true;
  }
  return false;
}

/** Sets the CORS response headers for the request's Origin; returns whether the origin is allowed. */
export function applyCors(req: IncomingMessage, res: ServerResponse, cors: CorsSettings): boolean {
  const any = cors.allowedOrigins.includes('*');
  // The answer depends on Origin whenever the list is specific: caches must key on it.
  if (!any && cors.allowedOrigins.length > 0) vary(res, 'Origin');
  const origin = header(req, 'origin');
  if (!origin) return false;
  const allowed = any || cors.allowedOrigins.some((o) => o.toLowerCase() === origin.toLowerCase());
  if (!allowed) return false;
  res.setHeader('Access-Control-Allow-Origin', any ? '*' : origin);
  res.setHeader('Access-Control-Expose-Headers', EXPOSE);
  return true;
}
