/**
 * Opens `<dataDir>/bucketcast.db` (better-sqlite3) for durable writes: WAL
 * with `synchronous=FULL`, so a call that returned survives a power cut, and
 * brings its schema up to date. Migrations are numbered and run in order, each
 * in a transaction that also records the new version in `schema_version`.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../../errors.js';
import { privateFiles } from '../private-files.js';
import { MIGRATIONS } from './migrations.js';

export type Db = Database.Database;

/** Name of the database file under the data dir. */
export const DB_FILE = 'bucketcast.db';

/** Opens (creating when missing) and migrates the database. */
export function openDatabase(dataDir: string, file = DB_FILE): Db {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(path.join(dataDir, file));
  db.pragma('journal_mode = WAL');
  // Readable by this user only: it holds password hashes and sealed secrets (SQLite gives the WAL files the database's mode).
  const f = path.join(dataDir, file);
  privateFiles(f, `${f}-wal`, `${f}-shm`);
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  // Several processes (server, validation CLI) may open it; wait for a writer instead of failing.
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

/** The schema version a database is at (0 for an empty one). */
export function schemaVersion(db: Db): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as { v: number | null };
  return row.v ?? 0;
}

function migrate(db: Db): void {
  const current = schemaVersion(db);
  if (current > MIGRATIONS.length) {
    throw new AppError('store_too_new', `the database is at schema version ${current}, newer than this bucketcast (${MIGRATIONS.length}); upgrade bucketcast`, 500);
  }
  for (let v = current + 1; v <= MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v - 1]);
      db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(v);
    })();
  }
}
