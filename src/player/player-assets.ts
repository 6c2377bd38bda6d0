/**
 * Third-party scripts the player page needs, served from the installed npm
 * packages at local URLs (never a CDN): `/vendor/hls.min.js` is hls.js.
 */
import { createRequire } from 'node:module';
import { Router } from 'express';

const require = createRequire(import.meta.url);

/** URL path → file of an installed package. */
const ASSETS: Record<string, string> = {
  '/vendor/hls.min.js': require.resolve('hls.js/dist/hls.min.js'),
};

export function playerAssets(): Router {
  const router = Router();
  for (const [url, file] of Object.entries(ASSETS)) {
    router.get(url, (_req, res, next) => {
      res.setHeader('Content-Type', 'text/javascript; charset=utf-8');
      res.sendFile(file, { maxAge: '1d', lastModified: true }, (err) => {
        if (err && !res.headersSent) next(err);
      });
    });
  }
  return router;
}
