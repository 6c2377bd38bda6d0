/** The SQLite store: `<dataDir>/bucketcast.db`, for one node. */
import { SecretBox } from '../secret-box.js';
import type { Store } from '../types.js';
import { openDatabase, syncWal, type Db } from './database.js';
import { SqliteCatalog } from './catalog.js';
import { SqliteUploadQueue } from './queue.js';
import { SqliteCredentialStore } from './credentials.js';
import { SqliteAppSettingsStore } from './app-settings.js';
import { SqliteAuthStore } from './auth.js';
import { SqlitePublishCredentialStore } from './publish-credentials.js';
import { SqliteWebhookOutbox } from './outbox.js';
import { SqliteRecordingNames } from './recording-names.js';

export interface SqliteStore extends Store {
  /** The open database (tests, diagnostics). */
  db: Db;
  /** Where the encryption key came from. */
  keySource: 'env' | 'file';
  /** True when this start created `<dataDir>/secret.key`. */
  keyCreated: boolean;
  /** A key derived from the server's secret key for one purpose (HKDF; see SecretBox.derive). */
  deriveKey(purpose: string): Buffer;
}

/** Opens the store under `dataDir`; `secretKey` is `BUCKETCAST_SECRET_KEY` when set. */
export function openSqliteStore(options: { dataDir: string; secretKey?: string; file?: string }): SqliteStore {
  const db = openDatabase(options.dataDir, options.file);
  let key;
  try {
    key = SecretBox.load(options.dataDir, options.secretKey);
  } catch (err) {
    db.close();
    throw err;
  }
  let closed = false;
  return {
    db,
    keySource: key.source,
    keyCreated: key.created ?? false,
    deriveKey: (purpose) => key.box.derive(purpose),
    catalog: new SqliteCatalog(db),
    queue: new SqliteUploadQueue(db),
    credentials: new SqliteCredentialStore(db, key.box),
    appSettings: new SqliteAppSettingsStore(db, key.box),
    auth: new SqliteAuthStore(db),
    publishCredentials: new SqlitePublishCredentialStore(db, key.box),
    outbox: new SqliteWebhookOutbox(db),
    recordingNames: new SqliteRecordingNames(db),
    durable: () => syncWal(db.name),
    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
