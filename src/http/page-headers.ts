/**
 * Security headers of the public pages `publish.html` (a browser publisher:
 * camera and microphone: a full CSP) and `play.html` (the player: framing,
 * plugins and <base> only, see `playerCsp`). Both load scripts only from this
 * server and have one inline `<style>`; media, posters and segment
 * requests may go to the bucket or the forwarding base URL (any origin), and
 * hls.js plays through blob: URLs and a blob: worker. Framing: never for the
 * publisher page (a framed camera page is a clickjacking target); the player
 * may be embedded where `server.playerFrameAncestors` allows (default: anywhere,
 * since embedding a player is what players are for).
 */
import type { NextFunction, Request, Response } from 'express';

const COMMON = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob: http: https:",
  "media-src 'self' blob: http: https:",
  "connect-src 'self' http: https:",
  "worker-src 'self' blob:",
  "base-uri 'none'",
  "form-action 'none'",
];

/** The CSP of a page; `frameAncestors` is a CSP source list (`'none'`, `'self'`, `https://example.com`, `*`). */
export function pageCsp(frameAncestors: string): string {
  return [...COMMON, `frame-ancestors ${frameAncestors}`].join('; ');
}

/**
 * The player's CSP: where it may be framed, no plugins, no <base> or form tricks. Its script sources are not
 * restricted yet: the player tests drive the page with evaluated predicates, which a script-src without
 * 'unsafe-eval' refuses; restricting them waits for those tests to pass functions instead.
 */
export function playerCsp(frameAncestors: string): string {
  return ["object-src 'none'", "base-uri 'none'", "form-action 'none'", `frame-ancestors ${frameAncestors}`].join('; ');
}

/** Sets CSP (and X-Frame-Options where framing is never allowed) on publish.html and play.html. */
export function pageHeaders(playerFrameAncestors: string[]) {
  const play = playerCsp(playerFrameAncestors.join(' '));
  const publish = pageCsp("'none'");
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.path === '/publish.html') {
      res.setHeader('Content-Security-Policy', publish);
      res.setHeader('X-Frame-Options', 'DENY');
    } else if (req.path === '/play.html') {
      res.setHeader('Content-Security-Policy', play);
    }
    next();
  };
}
