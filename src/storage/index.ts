/**
 * Builds the storage module (uploads to the bucket, retention, deletion,
 * bucket checks) for `main.ts` on the database opened by `openStore`
 * (src/db/index.ts); the service is a Lifecycle that closes the database on stop.
 */
import path from 'node:path';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { EventBus } from '../events/event-bus.js';
import type { BusEvents } from '../events/types.js';
import { nodeId } from '../db/node-id.js';
import type { Store } from '../db/types.js';
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

/** Builds the service on an opened store. */
export function createStorage(o: CreateStorageOptions): StorageService {
  const dataDir = path.resolve(o.config.server.dataDir);
  return new StorageService({ store: o.store, apps: o.apps, events: o.events, settings: o.config.storage, dataDir, nodeId: nodeId(dataDir), log: o.log });
}
