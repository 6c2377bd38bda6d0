/**
 * Opens `<dataDir>/bucketcast.db` (better-sqlite3) and brings its schema up
 * to date. WAL with `synchronous=NORMAL`: a commit survives a killed process
 * at once, and a power cut once the WAL is fsynced — by `syncWal` (off the
 * event loop, before any step that destroys data on the strength of a row:
 * deleting a local copy, a work dir) or by SQLite at each checkpoint.
 * `synchronous=FULL` fsynced every commit on the event loop: under heavy disk
 * writes (48 streams with 10 s parts) each took long enough to stall RTMP
 * reading and lose media (`npm run bench:ingest -- --n 48 --segment-seconds 10`). Migrations are numbered and run in order, each
 * in a transaction that also records the new version in `schema_version`.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
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
  db.pragma('synchronous = NORMAL');
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

/**
 * Makes every commit made before the call survive a power cut: fsyncs the WAL
 * in the thread pool (an fsync flushes the file whichever descriptor asks).
 * No WAL file means nothing is waiting in one.
 */
export async function syncWal(dbFile: string): Promise<void> {
  let handle;
  try {
    handle = await open(`${dbFile}-wal`, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
