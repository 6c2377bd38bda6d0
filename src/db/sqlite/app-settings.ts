/**
 * Application settings saved through the API, on SQLite. The settings JSON is
 * sealed (AES-256-GCM, bound to the app's name) because it may hold webhook
 * secrets; a deletion is kept as a row without settings.
 */
import type { SecretBox } from '../secret-box.js';
import type { AppSettingsStore, PersistedApp } from '../admin-types.js';
import type { Db } from './database.js';
import { errorMessage } from '../../errors.js';

interface Row {
  name: string;
  sealed: string | null;
  deleted: number;
  created_at: string;
  updated_at: string;
}

const context = (name: string) => `app-settings:${name}`;

export class SqliteAppSettingsStore implements AppSettingsStore {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  async list(): Promise<PersistedApp[]> {
    const rows = this.db.prepare('SELECT * FROM app_settings ORDER BY rowid').all() as Row[];
    return rows.map((r) => {
      if (r.deleted || r.sealed === null) return { name: r.name, settings: null, updatedAt: r.updated_at };
      try {
        return { name: r.name, settings: JSON.parse(this.box.open(r.sealed, context(r.name))) as unknown, updatedAt: r.updated_at };
      } catch (err) {
        // One unreadable row (a changed key) must not cost the others.
        return { name: r.name, settings: null, unreadable: errorMessage(err), updatedAt: r.updated_at };
      }
    });
  }

  async put(name: string, settings: unknown): Promise<void> {
    const now = new Date().toISOString();
    this.db
      .prepare(
        `INSERT INTO app_settings (name, sealed, deleted, created_at, updated_at) VALUES (@name, @sealed, 0, @now, @now)
         ON CONFLICT (name) DO UPDATE SET sealed = excluded.sealed, deleted = 0, updated_at = excluded.updated_at`,
      )
      .run({ name, sealed: this.box.seal(JSON.stringify(settings), context(name)), now });
  }

  async markDeleted(name: string): Promise<void> {
    const now = new Date().toISOString();
    this.db
      .prepare(
        `INSERT INTO app_settings (name, sealed, deleted, created_at, updated_at) VALUES (@name, NULL, 1, @now, @now)
         ON CONFLICT (name) DO UPDATE SET sealed = NULL, deleted = 1, updated_at = excluded.updated_at`,
      )
      .run({ name, now });
  }
}
