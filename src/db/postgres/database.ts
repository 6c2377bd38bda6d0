/**
 * The PostgreSQL connection pool and schema migrations. Migrations are
 * numbered and run in order, each in its own transaction that also records
 * the new version in `schema_version`; the whole run holds a session-level
 * `pg_advisory_lock`, so several nodes starting at once migrate once (the
 * others wait, then find the schema current).
 *
 * 64-bit integers (epoch milliseconds, counts) and NUMERIC sums come back as
 * JavaScript numbers: every value stored is far below 2^53.
 */
import pg from 'pg';
import { AppError, errorMessage } from '../../errors.js';
import { PG_MIGRATIONS } from './migrations.js';

/** Key of the advisory lock held while migrating ("bucketcast" in ASCII, shortened to fit a bigint). */
const MIGRATION_LOCK = 0x6275636b6361;

const INT8 = 20;
const NUMERIC = 1700;
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8 || oid === NUMERIC) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/** What a query runs on: the pool, or one client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

/** `postgres://user:***@host:port/db`: a URL as it may be logged or shown. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

/**
 * Opens a pool on `url` and checks the database answers; a database that
 * cannot be reached is a `database_unreachable` error naming the redacted URL.
 */
export async function openPool(url: string, opts: { max?: number; connectTimeoutMs?: number; nodeId?: string } = {}): Promise<pg.Pool> {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
    types,
    // A session setting read by column defaults and the upload queue (see migration 7); spaces and backslashes escaped.
    ...(opts.nodeId ? { options: `-c bucketcast.node=${opts.nodeId.replace(/[\\ ]/g, (c) => `\\${c}`)}` } : {}),
  });
  // An idle client whose connection drops emits 'error' on the pool; without a listener that would crash the node.
  // The next query gets a fresh connection (or a clear error), so there is nothing else to do here.
  pool.on('error', () => undefined);
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new AppError('database_unreachable', `cannot reach the database at ${redactUrl(url)}: ${errorMessage(err)}`, 503);
  }
  return pool;
}

/** Runs `fn` in a transaction on one client of the pool (rolled back when it throws). */
export async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const out = await fn(c);
    await c.query('COMMIT');
    return out;
  } catch (err) {
    // The connection may be gone; the error that matters is the original one.
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

/** The schema version a database is at (0 for an empty one). */
export async function schemaVersion(db: Queryable): Promise<number> {
  await db.query('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
  const r = await db.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_version');
  return r.rows[0].v ?? 0;
}

/** Brings the schema up to date, once across every node that starts now. */
export async function migrate(pool: pg.Pool, migrations: string[] = PG_MIGRATIONS): Promise<{ from: number; to: number }> {
  const c = await pool.connect();
  try {
    await c.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      const from = await schemaVersion(c);
      if (from > migrations.length) {
        throw new AppError('store_too_new', `the database is at schema version ${from}, newer than this bucketcast (${migrations.length}); upgrade bucketcast`, 500);
      }
      for (let v = from + 1; v <= migrations.length; v++) {
        await c.query('BEGIN');
        try {
          await c.query(migrations[v - 1]);
          await c.query('INSERT INTO schema_version (version) VALUES ($1)', [v]);
          await c.query('COMMIT');
        } catch (err) {
          await c.query('ROLLBACK').catch(() => undefined);
          throw new AppError('store_migration_failed', `database migration ${v} failed: ${errorMessage(err)}`, 500);
        }
      }
      return { from, to: Math.max(from, migrations.length) };
    } finally {
      await c.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    }
  } finally {
    c.release();
  }
}
