/** The admin account, its sessions and API tokens on SQLite (hashes only, never a secret). */
import type { AdminUser, ApiTokenRecord, AuthStore, SessionRecord } from '../admin-types.js';
import type { Db } from './database.js';

interface UserRow {
  id: string;
  username: string;
  password_hash: string;
  created_at: string;
  password_changed_at: string;
  must_change_password: number;
}

interface SessionRow {
  id_hash: string;
  user_id: string;
  created_at: string;
  expires_at: number;
  last_seen_at: number;
  ip: string | null;
  user_agent: string | null;
}

interface TokenRow {
  id: string;
  user_id: string;
  name: string;
  hint: string;
  created_at: string;
  expires_at: number | null;
  last_used_at: string | null;
  scope: string;
}

const toUser = (r: UserRow): AdminUser => ({ id: r.id, username: r.username, passwordHash: r.password_hash, createdAt: r.created_at, passwordChangedAt: r.password_changed_at, mustChangePassword: r.must_change_password === 1 });
const toSession = (r: SessionRow): SessionRecord => ({
  idHash: r.id_hash,
  userId: r.user_id,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  lastSeenAt: r.last_seen_at,
  ip: r.ip ?? undefined,
  userAgent: r.user_agent ?? undefined,
});
const toToken = (r: TokenRow): ApiTokenRecord => ({
  id: r.id,
  userId: r.user_id,
  name: r.name,
  hint: r.hint,
  createdAt: r.created_at,
  expiresAt: r.expires_at ?? undefined,
  lastUsedAt: r.last_used_at ?? undefined,
  scope: r.scope as ApiTokenRecord['scope'],
});

export class SqliteAuthStore implements AuthStore {
  constructor(private readonly db: Db) {}

  async countUsers(): Promise<number> {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM admin_users').get() as { n: number }).n;
  }

  async createUser(u: AdminUser): Promise<boolean> {
    const r = this.db
      .prepare(
        `INSERT INTO admin_users (id, username, password_hash, created_at, password_changed_at, must_change_password) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING`,
      )
      .run(u.id, u.username, u.passwordHash, u.createdAt, u.passwordChangedAt, u.mustChangePassword ? 1 : 0);
    return r.changes === 1;
  }

  async getUser(id: string): Promise<AdminUser | undefined> {
    const r = this.db.prepare('SELECT * FROM admin_users WHERE id = ?').get(id) as UserRow | undefined;
    return r && toUser(r);
  }

  async getUserByName(username: string): Promise<AdminUser | undefined> {
    const r = this.db.prepare('SELECT * FROM admin_users WHERE username = ?').get(username) as UserRow | undefined;
    return r && toUser(r);
  }

  async setPassword(userId: string, passwordHash: string): Promise<void> {
    this.db.prepare('UPDATE admin_users SET password_hash = ?, password_changed_at = ?, must_change_password = 0 WHERE id = ?').run(passwordHash, new Date().toISOString(), userId);
  }

  async createSession(s: SessionRecord): Promise<void> {
    this.db
      .prepare('INSERT INTO admin_sessions (id_hash, user_id, created_at, expires_at, last_seen_at, ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(s.idHash, s.userId, s.createdAt, s.expiresAt, s.lastSeenAt, s.ip ?? null, s.userAgent ?? null);
  }

  async getSession(idHash: string): Promise<SessionRecord | undefined> {
    const r = this.db.prepare('SELECT * FROM admin_sessions WHERE id_hash = ?').get(idHash) as SessionRow | undefined;
    return r && toSession(r);
  }

  async touchSession(idHash: string, lastSeenAt: number, expiresAt: number): Promise<void> {
    this.db.prepare('UPDATE admin_sessions SET last_seen_at = ?, expires_at = ? WHERE id_hash = ?').run(lastSeenAt, expiresAt, idHash);
  }

  async deleteSession(idHash: string): Promise<void> {
    this.db.prepare('DELETE FROM admin_sessions WHERE id_hash = ?').run(idHash);
  }

  async deleteUserSessions(userId: string, exceptIdHash?: string): Promise<number> {
    return this.db.prepare('DELETE FROM admin_sessions WHERE user_id = ? AND id_hash IS NOT ?').run(userId, exceptIdHash ?? null).changes;
  }

  async deleteExpiredSessions(now: number): Promise<number> {
    return this.db.prepare('DELETE FROM admin_sessions WHERE expires_at <= ?').run(now).changes;
  }

  async createToken(t: ApiTokenRecord, tokenHash: string): Promise<void> {
    this.db
      .prepare('INSERT INTO api_tokens (id, user_id, name, hint, token_hash, created_at, expires_at, last_used_at, scope) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)')
      .run(t.id, t.userId, t.name, t.hint, tokenHash, t.createdAt, t.expiresAt ?? null, t.scope ?? 'admin');
  }

  async findTokenByHash(tokenHash: string): Promise<ApiTokenRecord | undefined> {
    const r = this.db.prepare('SELECT * FROM api_tokens WHERE token_hash = ?').get(tokenHash) as TokenRow | undefined;
    return r && toToken(r);
  }

  async listTokens(userId: string): Promise<ApiTokenRecord[]> {
    return (this.db.prepare('SELECT * FROM api_tokens WHERE user_id = ? ORDER BY created_at, id').all(userId) as TokenRow[]).map(toToken);
  }

  async touchToken(id: string, at: string): Promise<void> {
    this.db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?').run(at, id);
  }

  async deleteToken(userId: string, id: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM api_tokens WHERE user_id = ? AND id = ?').run(userId, id).changes === 1;
  }

  async deleteUserTokens(userId: string): Promise<number> {
    return this.db.prepare('DELETE FROM api_tokens WHERE user_id = ?').run(userId).changes;
  }
}
