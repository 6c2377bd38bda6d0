/**
 * The webhook outbox on SQLite, leased like the upload queue: a `pending`
 * delivery is due at `next_attempt_at`; a claim leases it (`delivering`) until
 * `lease_until`, after which it is due again (its node died). Every state
 * change checks the lease owner.
 */
import type { DeliveryState, NewDelivery, WebhookDelivery, WebhookOutbox } from '../admin-types.js';
import type { Db } from './database.js';

interface Row {
  id: string;
  app: string;
  event: string;
  url: string;
  body: string;
  state: DeliveryState;
  attempts: number;
  next_attempt_at: number | null;
  lease_owner: string | null;
  lease_until: number | null;
  last_error: string | null;
  last_status: number | null;
  created_at: string;
  delivered_at: string | null;
}

function toDelivery(r: Row): WebhookDelivery {
  return {
    id: r.id,
    app: r.app,
    event: r.event,
    url: r.url,
    body: r.body,
    state: r.state,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at ?? undefined,
    lastError: r.last_error ?? undefined,
    lastStatus: r.last_status ?? undefined,
    createdAt: r.created_at,
    deliveredAt: r.delivered_at ?? undefined,
    leaseOwner: r.lease_owner ?? undefined,
    leaseUntil: r.lease_until ?? undefined,
  };
}

export class SqliteWebhookOutbox implements WebhookOutbox {
  constructor(private readonly db: Db) {}

  async enqueue(d: NewDelivery): Promise<boolean> {
    const now = Date.now();
    const iso = new Date(now).toISOString();
    const r = this.db
      .prepare(
        `INSERT INTO webhook_deliveries (id, app, event, url, body, dedupe_key, state, next_attempt_at, created_at, updated_at)
         VALUES (@id, @app, @event, @url, @body, @dedupeKey, 'pending', @now, @iso, @iso) ON CONFLICT DO NOTHING`,
      )
      .run({ ...d, now, iso });
    return r.changes === 1;
  }

  async claim(owner: string, leaseMs: number): Promise<WebhookDelivery | undefined> {
    const now = Date.now();
    const row = this.db
      .prepare(
        `UPDATE webhook_deliveries SET state = 'delivering', lease_owner = @owner, lease_until = @until, updated_at = @iso
         WHERE id = (
           SELECT id FROM webhook_deliveries
           WHERE (state = 'pending' AND next_attempt_at <= @now) OR (state = 'delivering' AND lease_until < @now)
           ORDER BY next_attempt_at, created_at LIMIT 1)
         RETURNING *`,
      )
      .get({ owner, until: now + leaseMs, now, iso: new Date(now).toISOString() }) as Row | undefined;
    return row && toDelivery(row);
  }

  async complete(id: string, owner: string, status: number): Promise<void> {
    const iso = new Date().toISOString();
    this.db
      .prepare(
        `UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, last_status = ?, last_error = NULL, delivered_at = ?,
           next_attempt_at = NULL, lease_owner = NULL, lease_until = NULL, updated_at = ?
         WHERE id = ? AND lease_owner = ?`,
      )
      .run(status, iso, iso, id, owner);
  }

  async retryLater(id: string, owner: string, at: number, error: string, status?: number): Promise<void> {
    this.db
      .prepare(
        `UPDATE webhook_deliveries SET state = 'pending', attempts = attempts + 1, next_attempt_at = ?, last_error = ?, last_status = ?,
           lease_owner = NULL, lease_until = NULL, updated_at = ?
         WHERE id = ? AND lease_owner = ?`,
      )
      .run(at, error, status ?? null, new Date().toISOString(), id, owner);
  }

  async fail(id: string, owner: string, error: string, status?: number): Promise<void> {
    this.db
      .prepare(
        `UPDATE webhook_deliveries SET state = 'failed', attempts = attempts + 1, next_attempt_at = NULL, last_error = ?, last_status = ?,
           lease_owner = NULL, lease_until = NULL, updated_at = ?
         WHERE id = ? AND lease_owner = ?`,
      )
      .run(error, status ?? null, new Date().toISOString(), id, owner);
  }

  async release(id: string, owner: string): Promise<void> {
    this.db
      .prepare(`UPDATE webhook_deliveries SET state = 'pending', lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE id = ? AND lease_owner = ? AND state = 'delivering'`)
      .run(new Date().toISOString(), id, owner);
  }

  async releaseOwner(owner: string): Promise<number> {
    return this.db
      .prepare(`UPDATE webhook_deliveries SET state = 'pending', lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE lease_owner = ? AND state = 'delivering'`)
      .run(new Date().toISOString(), owner).changes;
  }

  async get(id: string): Promise<WebhookDelivery | undefined> {
    const r = this.db.prepare('SELECT * FROM webhook_deliveries WHERE id = ?').get(id) as Row | undefined;
    return r && toDelivery(r);
  }

  async list(f: { app?: string; state?: DeliveryState; limit: number; offset?: number }): Promise<WebhookDelivery[]> {
    const rows = this.db
      .prepare(
        `SELECT * FROM webhook_deliveries WHERE (@app IS NULL OR app = @app) AND (@state IS NULL OR state = @state)
         ORDER BY created_at DESC, id DESC LIMIT @limit OFFSET @offset`,
      )
      .all({ app: f.app ?? null, state: f.state ?? null, limit: f.limit, offset: f.offset ?? 0 }) as Row[];
    return rows.map(toDelivery);
  }

  async retry(id: string): Promise<boolean> {
    const now = Date.now();
    const r = this.db
      .prepare(`UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = ?, updated_at = ? WHERE id = ? AND state IN ('failed', 'pending')`)
      .run(now, new Date(now).toISOString(), id);
    return r.changes === 1;
  }

  async nextDueAt(): Promise<number | undefined> {
    const row = this.db
      .prepare(`SELECT MIN(CASE WHEN state = 'pending' THEN next_attempt_at ELSE lease_until END) AS at FROM webhook_deliveries WHERE state IN ('pending', 'delivering')`)
      .get() as { at: number | null };
    return row.at ?? undefined;
  }

  async backlog(): Promise<{ count: number; oldestCreatedAt?: string }> {
    const row = this.db.prepare(`SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM webhook_deliveries WHERE state IN ('pending', 'delivering')`).get() as {
      n: number;
      oldest: string | null;
    };
    return { count: row.n, oldestCreatedAt: row.oldest ?? undefined };
  }

  async prune(before: Date): Promise<number> {
    return this.db.prepare(`DELETE FROM webhook_deliveries WHERE state IN ('delivered', 'failed') AND created_at < ?`).run(before.toISOString()).changes;
  }
}
