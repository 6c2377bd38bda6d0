/**
 * `/api/v1/auth`: log in and out, who am I, change the password, API tokens.
 *
 * Login flow for a browser panel: `POST /auth/login` with JSON
 * `{username, password}` sets the session cookie and answers
 * `{user, csrfToken, expiresAt}`; every later state-changing request sends
 * `X-CSRF-Token: <csrfToken>`. After a reload, `GET /auth/me` gives the
 * token again (and 401 when the session is gone).
 */
import type { Request } from 'express';
import { AppError } from '../errors.js';
import type { AuthService, Principal } from '../auth/auth-service.js';
import { checkOrigin, clearedSessionCookie, principalOf, requireAdmin, sessionCookie } from '../auth/http-auth.js';
import { Fields, bodyObject, jsonBody, param, route, type Route } from './http.js';

export interface AuthRoutesOptions {
  /** Logins, sessions, tokens, passwords. */
  auth: AuthService;
}

export function authRoutes({ auth }: AuthRoutesOptions): Route[] {
  const guard = requireAdmin(auth);
  const pending = requireAdmin(auth, { passwordChangePending: true });
  return [
    route('post', '/auth/login', jsonBody, async (req, res) => {
      // JSON only (a cross-site HTML form cannot send it) and never from another site's page: no login CSRF.
      if (!req.is('application/json')) throw new AppError('unsupported_media_type', 'send {"username", "password"} as Content-Type: application/json', 415);
      checkOrigin(req);
      const f = new Fields(bodyObject(req)).only('username', 'password');
      const username = f.string('username', { max: 128 }) || 'admin';
      const password = f.string('password', { required: true, max: 1024 });
      f.check();
      const s = await auth.login({ username, password: password!, ip: clientIp(req), userAgent: req.get('user-agent') });
      res.setHeader('Set-Cookie', sessionCookie(s, req.secure));
      return { user: s.user, csrfToken: s.csrfToken, expiresAt: new Date(s.expiresAt).toISOString(), mustChangePassword: s.mustChangePassword };
    }),
    route('post', '/auth/logout', pending, async (req, res) => {
      await auth.logout(principalOf(res));
      res.setHeader('Set-Cookie', clearedSessionCookie(req.secure));
      res.status(204).end();
    }),
    route('get', '/auth/me', pending, (_req, res) => me(principalOf(res))),
    route('post', '/auth/password', pending, jsonBody, async (req, res) => {
      const f = new Fields(bodyObject(req)).only('currentPassword', 'newPassword');
      const currentPassword = f.string('currentPassword', { required: true, max: 1024 });
      const newPassword = f.string('newPassword', { required: true });
      f.check();
      return auth.changePassword(principalOf(res), { currentPassword: currentPassword!, newPassword: newPassword!, ip: clientIp(req) });
    }),
    route('get', '/auth/tokens', guard, async (_req, res) => ({ tokens: (await auth.listTokens(principalOf(res))).map(publicToken) })),
    route('post', '/auth/tokens', guard, jsonBody, async (req, res) => {
      const f = new Fields(bodyObject(req)).only('name', 'expiresInDays');
      const name = f.string('name', { required: true, max: 100 });
      const expiresInDays = f.int('expiresInDays', { min: 1, max: 3650 });
      f.check();
      const t = await auth.createToken(principalOf(res), { name: name!, expiresInDays });
      res.status(201);
      return { ...publicToken(t), token: t.token };
    }),
    route('delete', '/auth/tokens/:id', guard, async (req, res) => {
      await auth.revokeToken(principalOf(res), param(req, 'id'));
      res.status(204).end();
    }),
  ];
}

function me(p: Principal) {
  return {
    user: { username: p.username },
    authenticatedBy: p.method,
    mustChangePassword: p.mustChangePassword ?? false,
    ...(p.method === 'session' ? { csrfToken: p.csrfToken, expiresAt: new Date(p.expiresAt!).toISOString() } : { tokenId: p.tokenId }),
  };
}

function publicToken(t: { id: string; name: string; hint: string; createdAt: string; expiresAt?: number; lastUsedAt?: string }) {
  return { id: t.id, name: t.name, hint: t.hint, createdAt: t.createdAt, expiresAt: t.expiresAt === undefined ? null : new Date(t.expiresAt).toISOString(), lastUsedAt: t.lastUsedAt ?? null };
}

/** The client's address (X-Forwarded-For only from a trusted proxy, per express's `trust proxy`). */
export function clientIp(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}
