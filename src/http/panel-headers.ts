/**
 * Security headers of the admin panel (`/admin/…`, static files in
 * public/admin/). The panel loads nothing from elsewhere and has no inline
 * script or style, so a strict Content-Security-Policy holds: scripts,
 * styles, images, media and API calls (including the events WebSocket, which
 * CSP 3's 'self' covers) only from this server, and no framing (clickjacking).
 */
import type { NextFunction, Request, Response } from 'express';

/** The panel's Content-Security-Policy. */
export const PANEL_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "media-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Sets the panel's headers on every `/admin` answer (mount at `/admin`, before the static files). */
export function panelHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Content-Security-Policy', PANEL_CSP);
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'same-origin');
  // Revalidate every time: a server upgrade must not leave an old panel talking to a new API.
  res.setHeader('Cache-Control', 'no-cache');
  next();
}
