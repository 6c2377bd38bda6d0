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
import type { TokenScope } from '../db/admin-types.js';
import type { AuthService, Principal } from '../auth/auth-service.js';
import { checkOrigin, clearedSessionCookie, principalOf, requireAdmin, sessionCookie } from '../auth/http-auth.js';
import { param, route, type Route } from './http.js';
import { body, requiredText, text, wholeNumber, isoDateTime, z } from './schema.js';

const TOKEN_SCOPES = ['read', 'admin', 'metrics'] as const satisfies readonly TokenScope[];

export interface AuthRoutesOptions {
  /** Logins, sessions, tokens, passwords. */
  auth: AuthService;
}

const iso = isoDateTime;
const user = z.object({ username: z.string() });

/** `POST /auth/login`: the username defaults to `admin`. */
export const LoginBody = body({ username: text({ max: 128, description: 'default "admin"' }).optional(), password: requiredText({ max: 1024 }) });
export const Session = z.object({ user, csrfToken: z.string(), expiresAt: iso(), mustChangePassword: z.boolean().describe('the generated first password is still in use: change it (POST /auth/password) before anything else') });
export const PasswordBody = body({ currentPassword: requiredText({ max: 1024 }), newPassword: requiredText({ description: 'at least 12 characters, different from the current one' }) });
export const PasswordChanged = z.object({ sessionsEnded: z.int(), tokensRevoked: z.int() });
export const TokenBody = body({
  name: requiredText({ max: 100 }),
  expiresInDays: wholeNumber(1, 3650, '90 when omitted').optional(),
  scope: z.enum(TOKEN_SCOPES, { error: `must be one of ${TOKEN_SCOPES.join(', ')}` }).optional().describe('admin when omitted'),
});
export const Token = z.object({ id: z.string(), name: z.string(), hint: z.string(), scope: z.enum(TOKEN_SCOPES), createdAt: iso(), expiresAt: iso().nullable(), lastUsedAt: iso().nullable() }).meta({ id: 'Token' });
export const Me = z
  .object({
    user,
    authenticatedBy: z.enum(['session', 'token']),
    mustChangePassword: z.boolean(),
    csrfToken: z.string().describe('sessions only').optional(),
    expiresAt: iso('sessions only').optional(),
    tokenId: z.string().describe('tokens only').optional(),
  })
  .meta({ id: 'Me' });

export function authRoutes({ auth }: AuthRoutesOptions): Route[] {
  const guard = requireAdmin(auth);
  const pending = requireAdmin(auth, { passwordChangePending: true });
  return [
    route({
      method: 'post',
      path: '/auth/login',
      body: LoginBody,
      responses: { 200: Session },
      handler: async (req, res, input) => {
        // JSON only (a cross-site HTML form cannot send it) and never from another site's page: no login CSRF.
        if (!req.is('application/json')) throw new AppError('unsupported_media_type', 'send {"username", "password"} as Content-Type: application/json', 415);
        checkOrigin(req);
        const b = input.body();
        const s = await auth.login({ username: b.username || 'admin', password: b.password, ip: clientIp(req), userAgent: req.get('user-agent') });
        res.setHeader('Set-Cookie', sessionCookie(s, req.secure));
        return { user: s.user, csrfToken: s.csrfToken, expiresAt: new Date(s.expiresAt).toISOString(), mustChangePassword: s.mustChangePassword };
      },
    }),
    route({
      method: 'post',
      path: '/auth/logout',
      before: [pending],
      responses: { 204: null },
      handler: async (req, res) => {
        await auth.logout(principalOf(res));
        res.setHeader('Set-Cookie', clearedSessionCookie(req.secure));
        res.status(204).end();
      },
    }),
    route({ method: 'get', path: '/auth/me', before: [pending], responses: { 200: Me }, handler: (_req, res) => me(principalOf(res)) }),
    route({
      method: 'post',
      path: '/auth/password',
      before: [pending],
      body: PasswordBody,
      responses: { 200: PasswordChanged },
      handler: async (req, res, input) => {
        const b = input.body();
        return auth.changePassword(principalOf(res), { currentPassword: b.currentPassword, newPassword: b.newPassword, ip: clientIp(req) });
      },
    }),
    route({ method: 'get', path: '/auth/tokens', before: [guard], responses: { 200: z.object({ tokens: z.array(Token) }) }, handler: async (_req, res) => ({ tokens: (await auth.listTokens(principalOf(res))).map(publicToken) }) }),
    route({
      method: 'post',
      path: '/auth/tokens',
      before: [guard],
      body: TokenBody,
      responses: { 201: z.object({ ...Token.shape, token: z.string().describe('bct_…: shown only in this answer') }) },
      handler: async (_req, res, input) => {
        const { name, expiresInDays, scope } = input.body();
        const p = principalOf(res);
        // A token cannot hand out more than it has.
        if ((p.scope ?? 'admin') !== 'admin' && (scope ?? 'admin') !== p.scope) throw new AppError('insufficient_scope', `a "${p.scope}" token can only create "${p.scope}" tokens`, 403);
        const t = await auth.createToken(p, { name, expiresInDays, scope });
        res.status(201);
        return { ...publicToken(t), token: t.token };
      },
    }),
    route({
      method: 'delete',
      path: '/auth/tokens/:id',
      before: [guard],
      responses: { 204: null },
      handler: async (req, res) => {
        await auth.revokeToken(principalOf(res), param(req, 'id'));
        res.status(204).end();
      },
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
