/** Stream keys (SHA-256 only) and token-signing secrets (sealed) on PostgreSQL. */
import type pg from 'pg';
import type { SecretBox } from '../secret-box.js';
import type { PublishCredentialStore, StreamKeyRecord } from '../admin-types.js';
import { inTransaction } from './database.js';

interface KeyRow {
  app: string;
  stream_id: string;
  hint: string;
  created_at: string;
  last_used_at: string | null;
}

// The hash column is only read by `streamKeyHash`: a listing cannot carry it by mistake.
const KEY_COLUMNS = 'app, stream_id, hint, created_at, last_used_at';
const toKey = (r: KeyRow): StreamKeyRecord => ({ app: r.app, streamId: r.stream_id, hint: r.hint, createdAt: r.created_at, lastUsedAt: r.last_used_at ?? undefined });
const context = (app: string) => `signing-secret:${app}`;

export class PgPublishCredentialStore implements PublishCredentialStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly box: SecretBox,
  ) {}

  async putStreamKey(k: StreamKeyRecord, keyHash: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO stream_keys (app, stream_id, key_hash, hint, created_at, last_used_at) VALUES ($1, $2, $3, $4, $5, NULL)
       ON CONFLICT (app, stream_id) DO UPDATE SET key_hash = excluded.key_hash, hint = excluded.hint, created_at = excluded.created_at, last_used_at = NULL`,
      [k.app, k.streamId, keyHash, k.hint, k.createdAt],
    );
  }

  async streamKeyHash(app: string, streamId: string): Promise<string | undefined> {
    return (await this.pool.query<{ key_hash: string }>('SELECT key_hash FROM stream_keys WHERE app = $1 AND stream_id = $2', [app, streamId])).rows[0]?.key_hash;
  }

  async getStreamKey(app: string, streamId: string): Promise<StreamKeyRecord | undefined> {
    const r = (await this.pool.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM stream_keys WHERE app = $1 AND stream_id = $2`, [app, streamId])).rows[0];
    return r && toKey(r);
  }

  async listStreamKeys(app: string): Promise<StreamKeyRecord[]> {
    return (await this.pool.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM stream_keys WHERE app = $1 ORDER BY stream_id`, [app])).rows.map(toKey);
  }

  async touchStreamKey(app: string, streamId: string, at: string): Promise<void> {
    await this.pool.query('UPDATE stream_keys SET last_used_at = $1 WHERE app = $2 AND stream_id = $3', [at, app, streamId]);
  }

  async deleteStreamKey(app: string, streamId: string): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM stream_keys WHERE app = $1 AND stream_id = $2', [app, streamId])).rowCount ?? 0) === 1;
  }

  async setSigningSecret(app: string, secret: string): Promise<{ createdAt: string }> {
    const createdAt = new Date().toISOString();
    await this.pool.query(
      `INSERT INTO signing_secrets (app, sealed, created_at) VALUES ($1, $2, $3)
       ON CONFLICT (app) DO UPDATE SET sealed = excluded.sealed, created_at = excluded.created_at`,
      [app, this.box.seal(secret, context(app)), createdAt],
    );
    return { createdAt };
  }

  async signingSecret(app: string): Promise<{ secret: string; createdAt: string } | undefined> {
    const r = (await this.pool.query<{ sealed: string; created_at: string }>('SELECT sealed, created_at FROM signing_secrets WHERE app = $1', [app])).rows[0];
    return r && { secret: this.box.open(r.sealed, context(app)), createdAt: r.created_at };
  }

  async deleteApp(app: string): Promise<void> {
    await inTransaction(this.pool, async (c) => {
      await c.query('DELETE FROM stream_keys WHERE app = $1', [app]);
      await c.query('DELETE FROM signing_secrets WHERE app = $1', [app]);
    });
  }
}
