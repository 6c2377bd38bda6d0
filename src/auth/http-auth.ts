/**
 * Authentication at the HTTP boundary: the session cookie, the admin guard for
 * express routes, and the CSRF rule.
 *
 * CSRF rule: a state-changing request (anything but GET, HEAD, OPTIONS)
 * authenticated by the session cookie must carry `X-CSRF-Token` with the
 * session's CSRF token (from the login answer or `GET /api/v1/auth/me`), and
 * must not come from another site's page: refused when the browser marks it
 * `Sec-Fetch-Site: cross-site` or `same-site`, or — for browsers that do not
 * send that header — when its `Origin` names another host than the request's
 * (Host, or X-Forwarded-Host from a trusted proxy). Sec-Fetch-Site first,
 * because a reverse proxy that rewrites Host would make every Origin look
 * foreign. The cookie is also `SameSite=Strict`. Requests with
 * `Authorization: Bearer` carry no ambient credential and need neither.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AppError } from '../errors.js';
import type { AuthService, NewSession, Principal } from './auth-service.js';
import { sameSecret } from './secrets.js';

export const SESSION_COOKIE = 'bucketcast_session';
/** The cookie's name over HTTPS: `__Host-` makes browsers insist on Secure, Path=/ and no Domain (no subdomain can set it). */
export const SECURE_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`;
export const CSRF_HEADER = 'X-CSRF-Token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The session id in a Cookie header, if any. */
export function sessionIdFrom(headers: IncomingHttpHeaders): string | undefined {
  const cookie = headers.cookie;
  if (!cookie) return undefined;
  let plain: string | undefined;
  for (const part of cookie.split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const name = part.slice(0, i).trim();
    const value = part.slice(i + 1).trim() || undefined;
    if (name === SECURE_SESSION_COOKIE && value) return value;
    if (name === SESSION_COOKIE) plain ??= value;
  }
  return plain;
}

/** Set-Cookie for a new session: HttpOnly, SameSite=Strict, Secure when the request came over TLS (directly or via a trusted proxy). */
export function sessionCookie(s: NewSession, secure: boolean): string {
  return `${secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE}=${s.sessionId}; Path=/; Max-Age=${s.maxAgeSeconds}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** Set-Cookie that removes the session cookie. */
export function clearedSessionCookie(secure: boolean): string {
  return `${secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** The principal a guarded route runs as. */
export function principalOf(res: Response): Principal {
  const p = res.locals.principal as Principal | undefined;
  if (!p) throw new AppError('unauthenticated', 'not authenticated', 401);
  return p;
}

/** True when a browser says the request comes from another site's page (see the CSRF rule). */
export function fromAnotherSite(headers: IncomingHttpHeaders, host: string | undefined): boolean {
  const site = headers['sec-fetch-site'];
  if (typeof site === 'string') return site === 'cross-site' || site === 'same-site';
  const origin = headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host.toLowerCase() !== (host ?? '').toLowerCase();
  } catch {
    return true; // "null" and garbage
  }
}

/** Refuses a request from another site's page. */
export function checkOrigin(req: Request): void {
  if (fromAnotherSite(req.headers, req.host)) {
    throw new AppError('origin_mismatch', `requests from ${req.get('origin') ?? 'another site'} are not accepted (only from this server's own pages)`, 403);
  }
}

/** Guard: the request must be an admin (session or API token); `optional` lets anonymous requests through (checked later). */
export function requireAdmin(auth: AuthService, opts: { optional?: () => boolean; passwordChangePending?: boolean; metrics?: boolean } = {}): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    if (opts.optional?.() && req.get('authorization') === undefined && !sessionIdFrom(req.headers)) return next();
    const r = await auth.authenticate({ authorization: req.get('authorization'), sessionId: sessionIdFrom(req.headers) });
    if (!r.ok) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="bucketcast"');
      throw new AppError(r.code, r.message, 401);
    }
    if (r.principal.method === 'session' && !SAFE_METHODS.has(req.method)) {
      checkOrigin(req);
      const sent = req.get(CSRF_HEADER);
      if (!sent || !sameSecret(sent, r.principal.csrfToken!)) {
        throw new AppError('csrf_failed', `a ${req.method} with a session cookie needs the ${CSRF_HEADER} header (its value comes with the login answer and GET /api/v1/auth/me)`, 403);
      }
    }
    // Token scopes: `metrics` reads /metrics only, `read` only reads.
    const scope = r.principal.scope ?? 'admin';
    if (scope === 'metrics' && !opts.metrics) throw new AppError('insufficient_scope', 'this API token has the "metrics" scope: it may only read /metrics', 403);
    if (scope === 'read' && !SAFE_METHODS.has(req.method)) throw new AppError('insufficient_scope', `this API token has the "read" scope: ${req.method} needs an "admin" token`, 403);
    // A generated password must be changed first: only the auth routes (me, password, logout) answer until then.
    if (r.principal.mustChangePassword && !opts.passwordChangePending) {
      throw new AppError('password_change_required', 'change the generated admin password first (POST /api/v1/auth/password)', 403);
    }
    res.locals.principal = r.principal;
    next();
  };
}
