/**
 * Builds the storage module for `main.ts`: opens the SQLite store in the data
 * dir (or takes one opened by `openStore`, when other modules share it) and
 * returns the service (a Lifecycle that closes the store on stop).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { EventBus } from '../events/event-bus.js';
import type { BusEvents } from '../events/types.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/index.js';
import { StorageService, type AppSource } from './storage-service.js';

export { StorageService } from './storage-service.js';

export interface CreateStorageOptions {
  config: Config;
  apps: AppSource;
  events: EventBus<BusEvents>;
  /** `BUCKETCAST_SECRET_KEY`, when set (else `<dataDir>/secret.key`). */
  secretKey?: string;
  /** The store, when already opened (`openStore`); closed by the service's `stop()`. */
  store?: SqliteStore;
  log: Logger;
}

/** Opens the SQLite store under the data dir. */
export function openStore(o: { config: Config; secretKey?: string; log: Logger }): SqliteStore {
  const dataDir = path.resolve(o.config.server.dataDir);
  const store = openSqliteStore({ dataDir, secretKey: o.secretKey });
  if (store.keyCreated) o.log.child({ module: 'storage' }).info({ file: path.join(dataDir, 'secret.key') }, 'created the key that encrypts stored credentials (mode 0600); back it up with the database');
  return store;
}

/** Opens the store (unless given) and builds the service. */
export function createStorage(o: CreateStorageOptions): StorageService {
  const dataDir = path.resolve(o.config.server.dataDir);
  const store = o.store ?? openStore(o);
  return new StorageService({ store, apps: o.apps, events: o.events, settings: o.config.storage, dataDir, nodeId: nodeId(dataDir), log: o.log });
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
