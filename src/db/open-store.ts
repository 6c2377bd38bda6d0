/**
 * The one place that chooses the store: PostgreSQL when a database URL is
 * configured (`server.databaseUrl`, `BUCKETCAST_DATABASE_URL`: several nodes
 * share it), else SQLite in the data dir (one node, the default).
 */
import path from 'node:path';
import type { Store } from './types.js';
import { openSqliteStore } from './sqlite/index.js';

export interface OpenedStore {
  store: Store;
  kind: 'sqlite' | 'postgres';
  /** Where it is, as it may be logged: the database file, or the URL without its password. */
  location: string;
  /** True when this start created `<dataDir>/secret.key`. */
  keyCreated: boolean;
}

/** Opens (and migrates) the configured store; an unreachable database rejects with `database_unreachable`. */
export async function openConfiguredStore(o: { dataDir: string; databaseUrl?: string; secretKey?: string; nodeId?: string }): Promise<OpenedStore> {
  if (o.databaseUrl) {
    // Loaded only when used: a single node on SQLite never loads the PostgreSQL client.
    const { openPostgresStore, redactUrl } = await import('./postgres/index.js');
    const store = await openPostgresStore({ url: o.databaseUrl, dataDir: o.dataDir, secretKey: o.secretKey, nodeId: o.nodeId });
    return { store, kind: 'postgres', location: redactUrl(o.databaseUrl), keyCreated: store.keyCreated };
  }
  const store = openSqliteStore({ dataDir: o.dataDir, secretKey: o.secretKey });
  return { store, kind: 'sqlite', location: path.join(o.dataDir, 'bucketcast.db'), keyCreated: store.keyCreated };
}
