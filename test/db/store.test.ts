/**
 * The store interfaces' shared suite against the SQLite
 * implementation, plus what is SQLite's own: the schema version table, WAL
 * with WAL, and refusing a database from a newer bucketcast.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../src/db/sqlite/index.js';
import { MIGRATIONS } from '../../src/db/sqlite/migrations.js';
import { storeSuite } from '../helpers/store-suite.js';

function tempDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'bucketcast-store-'));
}

storeSuite('sqlite', async () => {
  const dataDir = tempDir();
  let store = openSqliteStore({ dataDir });
  return {
    store,
    async reopen() {
      await store.close();
      store = openSqliteStore({ dataDir });
      return store;
    },
    async cleanup() {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
});

test('sqlite: the schema is versioned, written with WAL (synchronous NORMAL), and migrations run once', async () => {
  const dataDir = tempDir();
  try {
    const store = openSqliteStore({ dataDir });
    assert.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(store.db.pragma('synchronous', { simple: true }), 1, 'synchronous = NORMAL (the WAL is fsynced off the event loop by durable())');
    await store.close();
    const again = openSqliteStore({ dataDir });
    const versions = again.db.prepare('SELECT version FROM schema_version ORDER BY version').all() as Array<{ version: number }>;
    assert.deepEqual(versions.map((v) => v.version), MIGRATIONS.map((_, i) => i + 1));
    await again.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('sqlite: a database from a newer bucketcast is refused with a clear message', async () => {
  const dataDir = tempDir();
  try {
    await openSqliteStore({ dataDir }).close();
    const db = new Database(path.join(dataDir, 'bucketcast.db'));
    db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(MIGRATIONS.length + 1);
    db.close();
    assert.throws(() => openSqliteStore({ dataDir }), /newer than this bucketcast/);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
