/**
 * Application settings saved through the API, on PostgreSQL: sealed JSON
 * (it may hold webhook secrets), a deletion kept as a row without settings,
 * listed in the order apps were first saved (`seq`, as SQLite's rowid).
 * Each change is announced with `pg_notify` in the same statement, so it
 * reaches the other nodes (`watch`) exactly when it is committed.
 */
import type pg from 'pg';
import type { SecretBox } from '../secret-box.js';
import type { AppSettingsStore, PersistedApp } from '../admin-types.js';
import { errorMessage } from '../../errors.js';
import { listen } from './notifications.js';

/** The channel every save or deletion is announced on (payload: the app's name), for the other nodes. */
export const APP_SETTINGS_CHANNEL = 'bucketcast_app_settings';

interface Row {
  name: string;
  sealed: string | null;
  deleted: boolean;
  updated_at: string;
}

const context = (name: string) => `app-settings:${name}`;

export class PgAppSettingsStore implements AppSettingsStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly box: SecretBox,
    /** The database URL, for the dedicated connection `watch` listens on. */
    private readonly url: string,
  ) {}

  async list(): Promise<PersistedApp[]> {
    const r = await this.pool.query<Row>('SELECT name, sealed, deleted, updated_at FROM app_settings ORDER BY seq');
    return r.rows.map((row) => {
      if (row.deleted || row.sealed === null) return { name: row.name, settings: null, updatedAt: row.updated_at };
      try {
        return { name: row.name, settings: JSON.parse(this.box.open(row.sealed, context(row.name))) as unknown, updatedAt: row.updated_at };
      } catch (err) {
        // One unreadable row (a changed key) must not cost the others.
        return { name: row.name, settings: null, unreadable: errorMessage(err), updatedAt: row.updated_at };
      }
    });
  }

  async put(name: string, settings: unknown): Promise<void> {
    await this.pool.query(
      `WITH saved AS (
         INSERT INTO app_settings (name, sealed, deleted, created_at, updated_at) VALUES ($1, $2, false, $3, $3)
         ON CONFLICT (name) DO UPDATE SET sealed = excluded.sealed, deleted = false, updated_at = excluded.updated_at RETURNING name)
       SELECT pg_notify($4, name) FROM saved`,
      [name, this.box.seal(JSON.stringify(settings), context(name)), new Date().toISOString(), APP_SETTINGS_CHANNEL],
    );
  }

  async markDeleted(name: string): Promise<void> {
    await this.pool.query(
      `WITH saved AS (
         INSERT INTO app_settings (name, sealed, deleted, created_at, updated_at) VALUES ($1, NULL, true, $2, $2)
         ON CONFLICT (name) DO UPDATE SET sealed = NULL, deleted = true, updated_at = excluded.updated_at RETURNING name)
       SELECT pg_notify($3, name) FROM saved`,
      [name, new Date().toISOString(), APP_SETTINGS_CHANNEL],
    );
  }

  async watch(onChange: (name: string | null) => void, onError?: (message: string) => void): Promise<{ close(): Promise<void> }> {
    return listen(this.url, APP_SETTINGS_CHANNEL, onChange, onError);
  }
}
