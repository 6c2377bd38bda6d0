/**
 * The database: the catalog of recordings, the upload queue, the webhook
 * outbox, settings, users and credentials (SQLite in the data dir by default,
 * PostgreSQL for several nodes). `main.ts` opens it here.
 */
import path from 'node:path';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { openConfiguredStore } from './open-store.js';
import { nodeId } from './node-id.js';
import type { Store } from './types.js';

export { nodeIdOf } from './node-id.js';

/** Opens the configured store (see open-store.ts) and says which one. */
export async function openStore(o: { config: Config; secretKey?: string; log: Logger }): Promise<Store> {
  const dataDir = path.resolve(o.config.server.dataDir);
  const log = o.log.child({ module: 'db' });
  const opened = await openConfiguredStore({ dataDir, databaseUrl: o.config.server.databaseUrl, secretKey: o.secretKey, nodeId: nodeId(dataDir) });
  log.info({ store: opened.kind, location: opened.location }, 'store opened');
  if (opened.keyCreated) log.info({ file: path.join(dataDir, 'secret.key') }, 'created the key that encrypts stored credentials (mode 0600); back it up with the database');
  return opened.store;
}

