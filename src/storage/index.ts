/**
 * Builds the storage module for `main.ts`: takes the store opened by
 * `openStore` (SQLite in the data dir, or PostgreSQL when
 * `server.databaseUrl` is set) and returns the service (a Lifecycle that
 * closes the store on stop).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { EventBus } from '../events/event-bus.js';
import type { BusEvents } from '../events/types.js';
import { openConfiguredStore } from '../store/open-store.js';
import type { Store } from '../store/types.js';
import { StorageService, type AppSource } from './storage-service.js';

export { StorageService } from './storage-service.js';

export interface CreateStorageOptions {
  config: Config;
  apps: AppSource;
  events: EventBus<BusEvents>;
  /** `BUCKETCAST_SECRET_KEY`, when set (else `<dataDir>/secret.key`). */
  secretKey?: string;
  /** The store (`openStore`); closed by the service's `stop()`. */
  store: Store;
  log: Logger;
}

/** Opens the configured store (see src/store/open-store.ts) and says which one. */
export async function openStore(o: { config: Config; secretKey?: string; log: Logger }): Promise<Store> {
  const dataDir = path.resolve(o.config.server.dataDir);
  const log = o.log.child({ module: 'storage' });
  const opened = await openConfiguredStore({ dataDir, databaseUrl: o.config.server.databaseUrl, secretKey: o.secretKey, nodeId: nodeId(dataDir) });
  log.info({ store: opened.kind, location: opened.location }, 'store opened');
  if (opened.keyCreated) log.info({ file: path.join(dataDir, 'secret.key') }, 'created the key that encrypts stored credentials (mode 0600); back it up with the database');
  return opened.store;
}

/** Builds the service on an opened store. */
export function createStorage(o: CreateStorageOptions): StorageService {
  const dataDir = path.resolve(o.config.server.dataDir);
  return new StorageService({ store: o.store, apps: o.apps, events: o.events, settings: o.config.storage, dataDir, nodeId: nodeId(dataDir), log: o.log });
}

/** This node's id (stable across restarts; see `nodeId`). */
export function nodeIdOf(config: Config): string {
  return nodeId(path.resolve(config.server.dataDir));
}

/**
 * This node's id, kept in `<dataDir>/node-id`, so a restarted node takes back
 * its own leases at once instead of waiting for them to expire.
 */
function nodeId(dataDir: string): string {
  const file = path.join(dataDir, 'node-id');
  if (existsSync(file)) {
    const id = readFileSync(file, 'utf8').trim();
    if (id) return id;
  }
  mkdirSync(dataDir, { recursive: true });
  const id = `${os.hostname().replace(/[^\w.-]/g, '') || 'node'}-${randomBytes(4).toString('hex')}`;
  writeFileSync(file, `${id}\n`);
  return id;
}
