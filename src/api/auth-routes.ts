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
import { AppError, ValidationError } from '../errors.js';
import type { TokenScope } from '../db/admin-types.js';
import type { AuthService, Principal } from '../auth/auth-service.js';
import { checkOrigin, clearedSessionCookie, principalOf, requireAdmin, sessionCookie } from '../auth/http-auth.js';
import { Fields, bodyObject, jsonBody, param, route, type Route } from './http.js';

const TOKEN_SCOPES: TokenScope[] = ['read', 'admin', 'metrics'];

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
      const f = new Fields(bodyObject(req)).only('name', 'expiresInDays', 'scope');
      const name = f.string('name', { required: true, max: 100 });
      const expiresInDays = f.int('expiresInDays', { min: 1, max: 3650 });
      const scope = f.string('scope', { max: 16 });
      if (scope !== undefined && !TOKEN_SCOPES.includes(scope as TokenScope)) throw new ValidationError([{ path: 'scope', message: `must be one of ${TOKEN_SCOPES.join(', ')}` }]);
      f.check();
      const p = principalOf(res);
      // A token cannot hand out more than it has.
      if ((p.scope ?? 'admin') !== 'admin' && (scope ?? 'admin') !== p.scope) throw new AppError('insufficient_scope', `a "${p.scope}" token can only create "${p.scope}" tokens`, 403);
      const t = await auth.createToken(p, { name: name!, expiresInDays, scope: scope as TokenScope | undefined });
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

function publicToken(t: { id: string; name: string; hint: string; createdAt: string; expiresAt?: number; lastUsedAt?: string; scope?: string }) {
  return { id: t.id, name: t.name, hint: t.hint, scope: t.scope ?? 'admin', createdAt: t.createdAt, expiresAt: t.expiresAt === undefined ? null : new Date(t.expiresAt).toISOString(), lastUsedAt: t.lastUsedAt ?? null };
}

/** The client's address (X-Forwarded-For only from a trusted proxy, per express's `trust proxy`). */
export function clientIp(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}
