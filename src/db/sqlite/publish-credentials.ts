/** Stream keys (SHA-256 only) and token-signing secrets (sealed) on SQLite. */
import type { SecretBox } from '../secret-box.js';
import type { PublishCredentialStore, StreamKeyRecord } from '../admin-types.js';
import type { Db } from './database.js';

interface KeyRow {
  app: string;
  stream_id: string;
  key_hash: string;
  hint: string;
  created_at: string;
  last_used_at: string | null;
}

const toKey = (r: KeyRow): StreamKeyRecord => ({ app: r.app, streamId: r.stream_id, hint: r.hint, createdAt: r.created_at, lastUsedAt: r.last_used_at ?? undefined });
const context = (app: string) => `signing-secret:${app}`;

export class SqlitePublishCredentialStore implements PublishCredentialStore {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  async putStreamKey(k: StreamKeyRecord, keyHash: string): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO stream_keys (app, stream_id, key_hash, hint, created_at, last_used_at) VALUES (?, ?, ?, ?, ?, NULL)
         ON CONFLICT (app, stream_id) DO UPDATE SET key_hash = excluded.key_hash, hint = excluded.hint, created_at = excluded.created_at, last_used_at = NULL`,
      )
      .run(k.app, k.streamId, keyHash, k.hint, k.createdAt);
  }

  async streamKeyHash(app: string, streamId: string): Promise<string | undefined> {
    const r = this.db.prepare('SELECT key_hash FROM stream_keys WHERE app = ? AND stream_id = ?').get(app, streamId) as { key_hash: string } | undefined;
    return r?.key_hash;
  }

  async getStreamKey(app: string, streamId: string): Promise<StreamKeyRecord | undefined> {
    const r = this.db.prepare('SELECT * FROM stream_keys WHERE app = ? AND stream_id = ?').get(app, streamId) as KeyRow | undefined;
    return r && toKey(r);
  }

  async listStreamKeys(app: string): Promise<StreamKeyRecord[]> {
    return (this.db.prepare('SELECT * FROM stream_keys WHERE app = ? ORDER BY stream_id').all(app) as KeyRow[]).map(toKey);
  }

  async touchStreamKey(app: string, streamId: string, at: string): Promise<void> {
    this.db.prepare('UPDATE stream_keys SET last_used_at = ? WHERE app = ? AND stream_id = ?').run(at, app, streamId);
  }

  async deleteStreamKey(app: string, streamId: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM stream_keys WHERE app = ? AND stream_id = ?').run(app, streamId).changes === 1;
  }

  async setSigningSecret(app: string, secret: string): Promise<{ createdAt: string }> {
    const createdAt = new Date().toISOString();
    this.db
      .prepare(
        `INSERT INTO signing_secrets (app, sealed, created_at) VALUES (?, ?, ?)
         ON CONFLICT (app) DO UPDATE SET sealed = excluded.sealed, created_at = excluded.created_at`,
      )
      .run(app, this.box.seal(secret, context(app)), createdAt);
    return { createdAt };
  }

  async signingSecret(app: string): Promise<{ secret: string; createdAt: string } | undefined> {
    const r = this.db.prepare('SELECT sealed, created_at FROM signing_secrets WHERE app = ?').get(app) as { sealed: string; created_at: string } | undefined;
    return r && { secret: this.box.open(r.sealed, context(app)), createdAt: r.created_at };
  }

  async deleteApp(app: string): Promise<void> {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM stream_keys WHERE app = ?').run(app);
      this.db.prepare('DELETE FROM signing_secrets WHERE app = ?').run(app);
    })();
  }
}
