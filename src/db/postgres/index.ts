/**
 * The PostgreSQL store: one database several bucketcast nodes share
 * (`BUCKETCAST_DATABASE_URL`). The same interfaces and shared suite as the
 * SQLite store, plus cluster-wide publish claims. Secrets are sealed with
 * the node's key (`BUCKETCAST_SECRET_KEY`, else `<dataDir>/secret.key`); the
 * database remembers the fingerprint of the first key it saw, and a node
 * started with another key is refused at once, before it could seal a value
 * the other nodes cannot open.
 */
import type pg from 'pg';
import { AppError } from '../../errors.js';
import { SecretBox } from '../secret-box.js';
import type { ClusterNodeStore, Store, StreamClaimStore } from '../types.js';
import { migrate, openPool } from './database.js';
import { PgCatalog } from './catalog.js';
import { PgUploadQueue } from './queue.js';
import { PgCredentialStore } from './credentials.js';
import { PgAppSettingsStore } from './app-settings.js';
import { PgAuthStore } from './auth.js';
import { PgPublishCredentialStore } from './publish-credentials.js';
import { PgWebhookOutbox } from './outbox.js';
import { PgStreamClaims } from './stream-claims.js';
import { PgClusterNodes, PgRecordingNames } from './cluster.js';

export { redactUrl } from './database.js';

export interface PostgresStore extends Store {
  /** The connection pool (tests, diagnostics). */
  pool: pg.Pool;
  /** The catalog, with the recording parts of issue 13 (`addPart`, `partsBetween` …). */
  catalog: PgCatalog;
  /** The upload queue, with the multipart part records of issue 12 (`addPart`, `parts`) and issue 13's `requeue`. */
  queue: PgUploadQueue;
  streamClaims: StreamClaimStore;
  nodes: ClusterNodeStore;
  /** Where the encryption key came from. */
  keySource: 'env' | 'file';
  /** True when this start created `<dataDir>/secret.key`. */
  keyCreated: boolean;
}

/** Connects, migrates and checks the key; `secretKey` is `BUCKETCAST_SECRET_KEY` when set. */
export async function openPostgresStore(options: { url: string; dataDir: string; secretKey?: string; poolMax?: number; nodeId?: string }): Promise<PostgresStore> {
  const key = SecretBox.load(options.dataDir, options.secretKey);
  // Every connection carries the node id (`bucketcast.node`): rows it inserts name their node (migration 7), and
  // the upload queue hands this node only files on its own disk.
  const pool = await openPool(options.url, { max: options.poolMax, nodeId: options.nodeId });
  try {
    await migrate(pool);
    await checkKey(pool, key.box);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  let closed = false;
  return {
    pool,
    keySource: key.source,
    keyCreated: key.created ?? false,
    catalog: new PgCatalog(pool),
    queue: new PgUploadQueue(pool),
    deriveKey: (purpose) => key.box.derive(purpose),
    credentials: new PgCredentialStore(pool, key.box),
    appSettings: new PgAppSettingsStore(pool, key.box, options.url),
    auth: new PgAuthStore(pool),
    publishCredentials: new PgPublishCredentialStore(pool, key.box),
    outbox: new PgWebhookOutbox(pool),
    streamClaims: new PgStreamClaims(pool),
    recordingNames: new PgRecordingNames(pool),
    nodes: new PgClusterNodes(pool, options.url),
    // A PostgreSQL commit is durable when it returns (synchronous_commit on, its default).
    durable: async () => undefined,
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

/** The first node records its key's fingerprint; every later one must match it. */
async function checkKey(pool: pg.Pool, box: SecretBox): Promise<void> {
  await pool.query(`INSERT INTO store_meta (key, value) VALUES ('secret_key_id', $1) ON CONFLICT (key) DO NOTHING`, [box.keyId]);
  const r = await pool.query<{ value: string }>(`SELECT value FROM store_meta WHERE key = 'secret_key_id'`);
  if (r.rows[0]?.value !== box.keyId) {
    throw new AppError(
      'secret_key_mismatch',
      'this node\'s secret key differs from the one the database\'s secrets were sealed with: give every node the same BUCKETCAST_SECRET_KEY',
      500,
    );
  }
}
