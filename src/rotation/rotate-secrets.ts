/**
 * Re-encrypts every sealed value of the database with a new key, in one
 * transaction: stored AWS credentials, saved application settings (webhook
 * secrets) and token-signing secrets. Each value is opened with the old key
 * first, so a wrong old key changes nothing.
 */
import type { Db } from '../db/sqlite/database.js';
import type { SecretBox } from '../db/secret-box.js';

/** The tables and columns holding sealed values, and the context each is bound to (see their stores). */
const SEALED = [
  { table: 'credentials', key: 'id', context: (k: string) => k },
  { table: 'app_settings', key: 'name', context: (k: string) => `app-settings:${k}` },
  { table: 'signing_secrets', key: 'app', context: (k: string) => `signing-secret:${k}` },
] as const;

/** Values re-encrypted, per table. Throws (`secret_key_mismatch`, `secret_corrupt`) without changing anything. */
export function rotateSecrets(db: Db, from: SecretBox, to: SecretBox): Record<string, number> {
  const counts: Record<string, number> = {};
  db.transaction(() => {
    for (const t of SEALED) {
      const rows = db.prepare(`SELECT ${t.key} AS k, sealed FROM ${t.table} WHERE sealed IS NOT NULL`).all() as Array<{ k: string; sealed: string }>;
      const update = db.prepare(`UPDATE ${t.table} SET sealed = ? WHERE ${t.key} = ?`);
      for (const r of rows) update.run(to.seal(from.open(r.sealed, t.context(r.k)), t.context(r.k)), r.k);
      counts[t.table] = rows.length;
    }
  })();
  return counts;
}
