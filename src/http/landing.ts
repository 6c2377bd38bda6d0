/**
 * `GET /landing.json`: what the landing page (`/`, public/index.html) needs to
 * show this host's publish URLs: the RTMP port, the RTMPS port when RTMPS is
 * on, and whether WHIP is. Public, like the ports themselves; nothing else.
 */
import { Router } from 'express';

export interface LandingFacts {
  rtmpPort: () => number;
  rtmpsPort: () => number | undefined;
  whip: boolean;
}

export function landingRoutes(o: LandingFacts): Router {
  const router = Router();
  router.get('/landing.json', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ rtmpPort: o.rtmpPort(), rtmpsPort: o.rtmpsPort() ?? null, whip: o.whip });
  });
  return router;
}
