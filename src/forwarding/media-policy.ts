/**
 * Method and CORS rules of the media URLs (`/<app>/streams/<file>`,
 * `/<app>/previews/<file>`), mounted before the media routes so they hold for
 * local and forwarded files alike: GET and HEAD are served, OPTIONS is
 * answered here (CORS preflight or a plain `Allow`), every other method gets
 * 405 with an `Allow` header. CORS headers follow the app's `cors` settings.
 */
import { Router, type NextFunction, type Request, type Response } from 'express';
import type { AppLookup } from '../apps/app-registry.js';
import type { CorsSettings } from '../config/forwarding-schema.js';

const ALLOW = 'GET, HEAD, OPTIONS';
/** Headers a player may read from a cross-origin media response. */
const EXPOSE = 'Content-Length, Content-Range, Accept-Ranges, ETag, Last-Modified';
/** A header-name list as browsers send it in Access-Control-Request-Headers. */
const HEADER_LIST = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/;

export interface MediaPolicyOptions {
  apps: AppLookup;
}

export function mediaPolicy(options: MediaPolicyOptions): Router {
  const router = Router();
  const handle = (req: Request, res: Response, next: NextFunction) => {
    const app = options.apps.get(String(req.params.app));
    if (!app) return void next();
    const allowedOrigin = applyCors(req, res, app.cors);
    if (req.method === 'OPTIONS') {
      res.setHeader('Allow', ALLOW);
      const wanted = req.get('access-control-request-method');
      if (allowedOrigin && wanted) {
        // Only GET and HEAD are ever allowed; other methods get no grant and the browser refuses them.
        if (wanted === 'GET' || wanted === 'HEAD') res.setHeader('Access-Control-Allow-Methods', ALLOW);
        const headers = req.get('access-control-request-headers');
        if (headers && HEADER_LIST.test(headers.trim())) res.setHeader('Access-Control-Allow-Headers', headers.trim());
        res.setHeader('Access-Control-Max-Age', String(app.cors.maxAgeSeconds));
      }
      res.status(204).end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', ALLOW);
      res.status(405).json({ error: { code: 'method_not_allowed', message: `${req.method} is not allowed on media files (${ALLOW})` } });
      return;
    }
    next();
  };
  router.all('/:app/streams/:file', handle);
  router.all('/:app/previews/:file', handle);
  return router;
}

/** Sets the CORS response headers for the request's Origin; returns whether the origin is allowed. */
export function applyCors(req: Request, res: Response, cors: CorsSettings): boolean {
  const any = cors.allowedOrigins.includes('*');
  // The answer depends on Origin whenever the list is specific: caches must key on it.
  if (!any && cors.allowedOrigins.length > 0) res.vary('Origin');
  const origin = req.get('origin');
  if (!origin) return false;
  const allowed = any || cors.allowedOrigins.some((o) => o.toLowerCase() === origin.toLowerCase());
  if (!allowed) return false;
  res.setHeader('Access-Control-Allow-Origin', any ? '*' : origin);
  res.setHeader('Access-Control-Expose-Headers', EXPOSE);
  return true;
}
