/**
 * Admin authentication: the admin account (created at first start), password
 * logins with throttling, cookie sessions, API tokens for scripts, and
 * password changes.
 *
 * Sessions: the cookie holds a random id (256 bits); the store keeps only its
 * SHA-256 with an idle expiry (extended by use) capped by a maximum age. The
 * CSRF token of a session is an HMAC of its id, so it needs no storage and
 * only someone who can read the cookie — never another site — can compute it.
 * API tokens (`bct_…`, 256 bits) are shown once and stored as SHA-256.
 */
import { randomBytes, createHmac } from 'node:crypto';
import { rmSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import type { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../log/logger.js';
import type { ApiSettings } from '../config/api-schema.js';
import type { AdminUser, ApiTokenRecord, AuthStore, TokenScope } from '../db/admin-types.js';
import { AppError, ValidationError, errorMessage } from '../errors.js';
import { LoginLimiter } from './login-limiter.js';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, dummyHash, generatePassword, hashPassword, passwordPool, verifyPassword } from './passwords.js';
import { hintOf, newSecret, sha256 } from './secrets.js';

/** The admin account's user name. */
export const ADMIN_USERNAME = 'admin';
/** The file under the data dir a generated admin password is written to. */
export const ADMIN_PASSWORD_FILE = 'admin-password.txt';

/** Days an API token lives when its creator gives no `expiresInDays`. */
export const DEFAULT_TOKEN_DAYS = 90;

/** Prefix of API tokens. */
export const TOKEN_PREFIX = 'bct_';

/** Who a request is. */
export interface Principal {
  userId: string;
  username: string;
  method: 'session' | 'token';
  /** Session: SHA-256 of its id. */
  sessionHash?: string;
  /** Session: the value `X-CSRF-Token` must carry on state-changing requests. */
  csrfToken?: string;
  /** Session: epoch ms it expires unless used. */
  expiresAt?: number;
  /** Token: its id. */
  tokenId?: string;
  /** Token: what it may do (`admin` for sessions). */
  scope?: TokenScope;
  /** The account's password was generated and not yet changed: only the auth routes answer it. */
  mustChangePassword?: boolean;
}

export type Authentication = { ok: true; principal: Principal } | { ok: false; code: 'unauthenticated' | 'invalid_token' | 'token_expired' | 'session_invalid' | 'session_expired'; message: string };

export interface NewSession {
  /** The cookie value (the session id); shown to nobody but the browser. */
  sessionId: string;
  csrfToken: string;
  expiresAt: number;
  /** Seconds the cookie may live (the session's maximum age). */
  maxAgeSeconds: number;
  user: { username: string };
  /** The password must be changed before anything else is allowed. */
  mustChangePassword: boolean;
}

export interface AuthServiceOptions {
  /** Users, sessions and tokens (hashes only). */
  store: AuthStore;
  /** Session lifetimes and login limits. */
  settings: ApiSettings;
  /** `BUCKETCAST_ADMIN_PASSWORD`, used when the admin account is created. */
  initialPassword?: string;
  /** Where a generated admin password is written (`admin-password.txt`, mode 0600). */
  dataDir?: string;
  log: Logger;
  /** The clock (tests). */
  now?: () => number;
}

/** How often a session's expiry is written back while it is used. */
const TOUCH_EVERY_MS = 30_000;
/** How often expired sessions are removed. */
const SWEEP_EVERY_MS = 3_600_000;

export class AuthService implements Lifecycle {
  private readonly limiter: LoginLimiter;
  private readonly log: Logger;
  private readonly now: () => number;
  private sweep?: NodeJS.Timeout;

  constructor(private readonly o: AuthServiceOptions) {
    this.log = o.log.child({ module: 'auth' });
    this.now = o.now ?? Date.now;
    this.limiter = new LoginLimiter(o.settings.login, this.now);
    passwordPool.configure(o.settings.login.maxConcurrentChecks, o.settings.login.maxQueuedChecks);
  }

  /** Creates the admin account on first start; removes expired sessions now and then. */
  async start(): Promise<void> {
    await this.bootstrap();
    const clean = () =>
      void this.o.store.deleteExpiredSessions(this.now()).catch((err) => this.log.warn({ err: errorMessage(err) }, 'could not remove expired sessions'));
    clean();
    this.sweep = setInterval(clean, SWEEP_EVERY_MS);
    this.sweep.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.sweep);
    await passwordPool.close();
  }

  private async bootstrap(): Promise<void> {
    if ((await this.o.store.countUsers()) > 0) {
      if (this.o.initialPassword) this.log.info('BUCKETCAST_ADMIN_PASSWORD ignored: the admin account exists (change its password through the API)');
      return;
    }
    const generated = this.o.initialPassword === undefined;
    const password = this.o.initialPassword ?? generatePassword();
    const at = new Date(this.now()).toISOString();
    const user: AdminUser = { id: `usr_${randomBytes(8).toString('hex')}`, username: ADMIN_USERNAME, passwordHash: await hashPassword(password), createdAt: at, passwordChangedAt: at, mustChangePassword: generated };
    // The generated password goes to a file only this user can read, never into the log (logs are shipped and kept).
    const file = generated ? this.passwordFile() : undefined;
    if (file) writePrivate(file, `${password}\n`);
    if (!(await this.o.store.createUser(user))) {
      if (file) rmSync(file, { force: true });
      return;
    }
    if (generated) {
      this.log.warn(
        { username: ADMIN_USERNAME, passwordFile: file },
        'created the admin account with a generated password in passwordFile (mode 0600): log in with it, then change it (required); or set BUCKETCAST_ADMIN_PASSWORD before the first start',
      );
    } else {
      this.log.info({ username: ADMIN_USERNAME }, 'created the admin account from BUCKETCAST_ADMIN_PASSWORD');
    }
  }

  private passwordFile(): string {
    return path.join(this.o.dataDir ?? '.', ADMIN_PASSWORD_FILE);
  }

  /** Checks a password login; throws 401 (wrong) or 429 (locked out, with `retryAfterSeconds`). */
  async login(input: { username: string; password: string; ip: string; userAgent?: string }): Promise<NewSession> {
    const { username, ip } = input;
    // The attempt counts as a failure before it is checked (a success takes it back), so N guesses sent
    // at once do not all get checked: the ones past the limit are refused here, unchecked.
    this.attempt(ip, username);
    const user = await this.o.store.getUserByName(username);
    // Unknown names cost a bcrypt check too, so timing does not tell which names exist.
    const ok = await verifyPassword(input.password, user?.passwordHash ?? (await dummyHash()));
    if (!user || !ok) {
      const lock = this.limiter.check(ip, username);
      this.log.warn({ ip, username, lockedOut: lock.locked ? lock.scope : undefined }, 'login failed');
      if (lock.locked) throw lockedError(lock.retryAfterSeconds);
      throw new AppError('invalid_credentials', 'wrong user name or password', 401);
    }
    this.limiter.succeed(ip, username);
    const session = await this.createSession(user, ip, input.userAgent);
    this.log.info({ ip, username }, 'login');
    return session;
  }

  /** Refuses a locked-out address or user, else counts the attempt as a failure until it succeeds. */
  private attempt(ip: string, username: string): void {
    const lock = this.limiter.check(ip, username);
    if (lock.locked) {
      this.log.warn({ ip, username, scope: lock.scope, retryAfterSeconds: lock.retryAfterSeconds }, 'login refused: locked out');
      throw lockedError(lock.retryAfterSeconds);
    }
    this.limiter.fail(ip, username);
  }

  private async createSession(user: AdminUser, ip: string, userAgent?: string): Promise<NewSession> {
    const sessionId = randomBytes(32).toString('base64url');
    const now = this.now();
    const expiresAt = Math.min(now + this.idleMs, now + this.maxMs);
    await this.o.store.createSession({ idHash: sha256(sessionId), userId: user.id, createdAt: new Date(now).toISOString(), expiresAt, lastSeenAt: now, ip, userAgent: userAgent?.slice(0, 256) });
    return { sessionId, csrfToken: csrfTokenOf(sessionId), expiresAt, maxAgeSeconds: Math.round(this.maxMs / 1000), user: { username: user.username }, mustChangePassword: user.mustChangePassword ?? false };
  }

  /** Ends a session (logout). */
  async logout(principal: Principal): Promise<void> {
    if (principal.sessionHash) await this.o.store.deleteSession(principal.sessionHash);
    this.log.info({ username: principal.username }, 'logout');
  }

  /** Who a request is, from its `Authorization: Bearer` header or else its session cookie. */
  async authenticate(input: { authorization?: string; sessionId?: string }): Promise<Authentication> {
    if (input.authorization !== undefined) return this.byToken(input.authorization);
    if (input.sessionId) return this.bySession(input.sessionId);
    return { ok: false, code: 'unauthenticated', message: 'log in (session cookie) or send Authorization: Bearer <API token>' };
  }

  private async byToken(header: string): Promise<Authentication> {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m || !m[1].startsWith(TOKEN_PREFIX)) return { ok: false, code: 'invalid_token', message: 'Authorization must be "Bearer <API token>" (a token starting with bct_)' };
    const record = await this.o.store.findTokenByHash(sha256(m[1]));
    if (!record) return { ok: false, code: 'invalid_token', message: 'the API token is not valid (revoked, or never issued)' };
    const now = this.now();
    if (record.expiresAt !== undefined && record.expiresAt <= now) return { ok: false, code: 'token_expired', message: 'the API token has expired' };
    const user = await this.o.store.getUser(record.userId);
    if (!user) return { ok: false, code: 'invalid_token', message: 'the API token is not valid' };
    if (!record.lastUsedAt || now - Date.parse(record.lastUsedAt) > TOUCH_EVERY_MS) await this.o.store.touchToken(record.id, new Date(now).toISOString());
    return { ok: true, principal: { userId: user.id, username: user.username, method: 'token', tokenId: record.id, scope: record.scope ?? 'admin', mustChangePassword: user.mustChangePassword } };
  }

  private async bySession(sessionId: string): Promise<Authentication> {
    const idHash = sha256(sessionId);
    const s = await this.o.store.getSession(idHash);
    if (!s) return { ok: false, code: 'session_invalid', message: 'the session has ended (logged out or replaced); log in again' };
    const now = this.now();
    if (s.expiresAt <= now) {
      await this.o.store.deleteSession(idHash);
      return { ok: false, code: 'session_expired', message: 'the session has expired; log in again' };
    }
    const user = await this.o.store.getUser(s.userId);
    if (!user) return { ok: false, code: 'session_invalid', message: 'the session has ended; log in again' };
    let expiresAt = s.expiresAt;
    if (now - s.lastSeenAt > TOUCH_EVERY_MS) {
      expiresAt = Math.min(now + this.idleMs, Date.parse(s.createdAt) + this.maxMs);
      await this.o.store.touchSession(idHash, now, expiresAt);
    }
    return { ok: true, principal: { userId: user.id, username: user.username, method: 'session', sessionHash: idHash, csrfToken: csrfTokenOf(sessionId), expiresAt, mustChangePassword: user.mustChangePassword } };
  }

  /** Changes the password after checking the current one (throttled like logins); ends the user's other sessions. */
  async changePassword(principal: Principal, input: { currentPassword: string; newPassword: string; ip: string }): Promise<{ sessionsEnded: number; tokensRevoked: number }> {
    const problems = passwordProblems(input.newPassword, 'newPassword');
    if (problems.length) throw new ValidationError(problems);
    this.attempt(input.ip, principal.username);
    const user = await this.o.store.getUser(principal.userId);
    if (!user) throw new AppError('session_invalid', 'the account no longer exists', 401);
    if (!(await verifyPassword(input.currentPassword, user.passwordHash))) {
      const lock = this.limiter.check(input.ip, user.username);
      this.log.warn({ ip: input.ip, username: user.username }, 'password change refused: wrong current password');
      if (lock.locked) throw lockedError(lock.retryAfterSeconds);
      throw new AppError('wrong_password', 'currentPassword is not the current password', 403);
    }
    this.limiter.succeed(input.ip, user.username);
    if (input.newPassword === input.currentPassword) throw new ValidationError([{ path: 'newPassword', message: 'must differ from the current password' }]);
    await this.o.store.setPassword(user.id, await hashPassword(input.newPassword));
    // The generated password no longer works: its file goes.
    if (user.mustChangePassword) rmSync(this.passwordFile(), { force: true });
    const sessionsEnded = await this.o.store.deleteUserSessions(user.id, principal.sessionHash);
    // Tokens were issued under the old password: a changed password (e.g. after a leak) revokes them too.
    const tokensRevoked = await this.o.store.deleteUserTokens(user.id);
    this.log.info({ username: user.username, sessionsEnded, tokensRevoked }, 'admin password changed');
    return { sessionsEnded, tokensRevoked };
  }

  /** Issues an API token; the token is in the answer and nowhere else. */
  async createToken(principal: Principal, input: { name: string; expiresInDays?: number; scope?: TokenScope }): Promise<ApiTokenRecord & { token: string }> {
    const days = input.expiresInDays ?? DEFAULT_TOKEN_DAYS;
    const token = newSecret(TOKEN_PREFIX);
    const now = this.now();
    const record: ApiTokenRecord = {
      id: `tok_${randomBytes(8).toString('hex')}`,
      userId: principal.userId,
      name: input.name,
      hint: hintOf(token),
      createdAt: new Date(now).toISOString(),
      expiresAt: now + days * 86_400_000,
      scope: input.scope ?? 'admin',
    };
    await this.o.store.createToken(record, sha256(token));
    this.log.info({ tokenId: record.id, name: record.name, scope: record.scope, expiresAt: new Date(record.expiresAt!).toISOString() }, 'api token created');
    return { ...record, token };
  }

  listTokens(principal: Principal): Promise<ApiTokenRecord[]> {
    return this.o.store.listTokens(principal.userId);
  }

  async revokeToken(principal: Principal, id: string): Promise<void> {
    if (!(await this.o.store.deleteToken(principal.userId, id))) throw new AppError('token_not_found', `no API token "${id}"`, 404);
    this.log.info({ tokenId: id }, 'api token revoked');
  }

  private get idleMs(): number {
    return this.o.settings.sessionIdleHours * 3_600_000;
  }

  private get maxMs(): number {
    return this.o.settings.sessionMaxHours * 3_600_000;
  }
}

/** Writes a file only this user can read (also when it existed before with another mode). */
function writePrivate(file: string, text: string): void {
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** The CSRF token of a session: an HMAC of its id (see the design note). */
function csrfTokenOf(sessionId: string): string {
  return createHmac('sha256', sessionId).update('bucketcast csrf v1').digest('base64url');
}

/** Why a new password is not acceptable (empty when it is). */
export function passwordProblems(password: unknown, path: string): Array<{ path: string; message: string }> {
  if (typeof password !== 'string') return [{ path, message: 'required (a string)' }];
  if (password.length < MIN_PASSWORD_LENGTH) return [{ path, message: `must be at least ${MIN_PASSWORD_LENGTH} characters` }];
  if (password.length > MAX_PASSWORD_LENGTH) return [{ path, message: `must be at most ${MAX_PASSWORD_LENGTH} characters` }];
  return [];
}

/** 429 with the seconds to wait (the API sets `Retry-After` from `retryAfterSeconds`). */
export class LockedOutError extends AppError {
  constructor(readonly retryAfterSeconds: number) {
    super('too_many_attempts', `too many failed logins; try again in ${retryAfterSeconds} s`, 429);
  }
}

function lockedError(retryAfterSeconds: number): LockedOutError {
  return new LockedOutError(retryAfterSeconds);
}
