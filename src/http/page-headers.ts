/**
 * Security headers of the public pages: the landing page `/` (index.html),
 * `publish.html` (a browser publisher:
 * camera and microphone) and `play.html` (the player). Both hold no inline
 * script or style (their scripts are play.js / publish.js and the vendored
 * hls.js, their styles play.css / publish.css), so one strict CSP serves both:
 * scripts and styles only from this server, no eval, no plugins, no <base> or
 * form tricks. Media, posters and segment requests may go to the bucket or the
 * forwarding base URL (any origin), and hls.js plays through blob: URLs and a
 * blob: worker. Framing: never for the publisher page (a framed camera page is
 * a clickjacking target); the player may be embedded where
 * `server.playerFrameAncestors` allows (default: anywhere, since embedding a
 * player is what players are for).
 */
import type { NextFunction, Request, Response } from 'express';

const COMMON = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob: http: https:",
  "media-src 'self' blob: http: https:",
  "connect-src 'self' http: https:",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
];

/** The CSP of a page; `frameAncestors` is a CSP source list (`'none'`, `'self'`, `https://example.com`, `*`). */
export function pageCsp(frameAncestors: string): string {
  return [...COMMON, `frame-ancestors ${frameAncestors}`].join('; ');
}

/** The player's CSP: the pages' strict one, framed where `server.playerFrameAncestors` allows. */
export function playerCsp(frameAncestors: string): string {
  return pageCsp(frameAncestors);
}

/** Sets CSP (and X-Frame-Options where framing is never allowed) on the landing page, publish.html and play.html. */
export function pageHeaders(playerFrameAncestors: string[]) {
  const play = playerCsp(playerFrameAncestors.join(' '));
  const publish = pageCsp("'none'");
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.path === '/publish.html' || req.path === '/' || req.path === '/index.html') {
      res.setHeader('Content-Security-Policy', publish);
      res.setHeader('X-Frame-Options', 'DENY');
    } else if (req.path === '/play.html') {
      res.setHeader('Content-Security-Policy', play);
    }
    next();
  };
}
