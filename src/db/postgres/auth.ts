/** The admin account, its sessions and API tokens on PostgreSQL (hashes only, never a secret). */
import type pg from 'pg';
import type { AdminUser, ApiTokenRecord, AuthStore, SessionRecord } from '../admin-types.js';

interface UserRow {
  id: string;
  username: string;
  password_hash: string;
  created_at: string;
  password_changed_at: string;
  must_change_password: boolean;
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

const toUser = (r: UserRow): AdminUser => ({ id: r.id, username: r.username, passwordHash: r.password_hash, createdAt: r.created_at, passwordChangedAt: r.password_changed_at, mustChangePassword: r.must_change_password });
const toSession = (r: SessionRow): SessionRecord => ({
  idHash: r.id_hash,
  userId: r.user_id,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  lastSeenAt: r.last_seen_at,
  ip: r.ip ?? undefined,
  userAgent: r.user_agent ?? undefined,
});
// The hash column is never selected: a token record cannot carry it by mistake.
const TOKEN_COLUMNS = 'id, user_id, name, hint, created_at, expires_at, last_used_at, scope';
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

export class PgAuthStore implements AuthStore {
  constructor(private readonly pool: pg.Pool) {}

  private async one<T>(sql: string, params: unknown[]): Promise<T | undefined> {
    return (await this.pool.query(sql, params)).rows[0] as T | undefined;
  }

  private async count(sql: string, params: unknown[]): Promise<number> {
    return (await this.pool.query(sql, params)).rowCount ?? 0;
  }

  async countUsers(): Promise<number> {
    return (await this.one<{ n: number }>('SELECT COUNT(*) AS n FROM admin_users', []))!.n;
  }

  async createUser(u: AdminUser): Promise<boolean> {
    const sql = `INSERT INTO admin_users (id, username, password_hash, created_at, password_changed_at, must_change_password) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`;
    return (await this.count(sql, [u.id, u.username, u.passwordHash, u.createdAt, u.passwordChangedAt, u.mustChangePassword === true])) === 1;
  }

  async getUser(id: string): Promise<AdminUser | undefined> {
    const r = await this.one<UserRow>('SELECT * FROM admin_users WHERE id = $1', [id]);
    return r && toUser(r);
  }

  async getUserByName(username: string): Promise<AdminUser | undefined> {
    const r = await this.one<UserRow>('SELECT * FROM admin_users WHERE username = $1', [username]);
    return r && toUser(r);
  }

  async setPassword(userId: string, passwordHash: string): Promise<void> {
    await this.pool.query('UPDATE admin_users SET password_hash = $1, password_changed_at = $2, must_change_password = FALSE WHERE id = $3', [passwordHash, new Date().toISOString(), userId]);
  }

  async createSession(s: SessionRecord): Promise<void> {
    await this.pool.query('INSERT INTO admin_sessions (id_hash, user_id, created_at, expires_at, last_seen_at, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
      s.idHash,
      s.userId,
      s.createdAt,
      s.expiresAt,
      s.lastSeenAt,
      s.ip ?? null,
      s.userAgent ?? null,
    ]);
  }

  async getSession(idHash: string): Promise<SessionRecord | undefined> {
    const r = await this.one<SessionRow>('SELECT * FROM admin_sessions WHERE id_hash = $1', [idHash]);
    return r && toSession(r);
  }

  async touchSession(idHash: string, lastSeenAt: number, expiresAt: number): Promise<void> {
    await this.pool.query('UPDATE admin_sessions SET last_seen_at = $1, expires_at = $2 WHERE id_hash = $3', [lastSeenAt, expiresAt, idHash]);
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.pool.query('DELETE FROM admin_sessions WHERE id_hash = $1', [idHash]);
  }

  async deleteUserSessions(userId: string, exceptIdHash?: string): Promise<number> {
    return this.count('DELETE FROM admin_sessions WHERE user_id = $1 AND id_hash IS DISTINCT FROM $2', [userId, exceptIdHash ?? null]);
  }

  async deleteExpiredSessions(now: number): Promise<number> {
    return this.count('DELETE FROM admin_sessions WHERE expires_at <= $1', [now]);
  }

  async createToken(t: ApiTokenRecord, tokenHash: string): Promise<void> {
    await this.pool.query('INSERT INTO api_tokens (id, user_id, name, hint, token_hash, created_at, expires_at, last_used_at, scope) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8)', [
      t.id,
      t.userId,
      t.name,
      t.hint,
      tokenHash,
      t.createdAt,
      t.expiresAt ?? null,
      t.scope ?? 'admin',
    ]);
  }

  async findTokenByHash(tokenHash: string): Promise<ApiTokenRecord | undefined> {
    const r = await this.one<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1`, [tokenHash]);
    return r && toToken(r);
  }

  async listTokens(userId: string): Promise<ApiTokenRecord[]> {
    return (await this.pool.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY created_at, id`, [userId])).rows.map(toToken);
  }

  async touchToken(id: string, at: string): Promise<void> {
    await this.pool.query('UPDATE api_tokens SET last_used_at = $1 WHERE id = $2', [at, id]);
  }

  async deleteToken(userId: string, id: string): Promise<boolean> {
    return (await this.count('DELETE FROM api_tokens WHERE user_id = $1 AND id = $2', [userId, id])) === 1;
  }

  async deleteUserTokens(userId: string): Promise<number> {
    return this.count('DELETE FROM api_tokens WHERE user_id = $1', [userId]);
  }
}
