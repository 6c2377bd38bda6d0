/**
 * The webhook outbox on PostgreSQL, leased like the upload queue: a
 * `pending` delivery is due at `next_attempt_at`; a claim leases it
 * (`delivering`) until `lease_until`, choosing it with `FOR UPDATE SKIP
 * LOCKED`, so with several nodes running the outbox each delivery is sent by
 * one of them. An expired lease is due again (its node died). Every state
 * change checks the lease owner.
 */
import type pg from 'pg';
import type { DeliveryState, NewDelivery, WebhookDelivery, WebhookOutbox } from '../admin-types.js';

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

export class PgWebhookOutbox implements WebhookOutbox {
  constructor(private readonly pool: pg.Pool) {}

  private async count(sql: string, params: unknown[]): Promise<number> {
    return (await this.pool.query(sql, params)).rowCount ?? 0;
  }

  async enqueue(d: NewDelivery): Promise<boolean> {
    const now = Date.now();
    const sql = `INSERT INTO webhook_deliveries (id, app, event, url, body, dedupe_key, state, next_attempt_at, created_at, updated_at)
      VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $8) ON CONFLICT DO NOTHING`;
    return (await this.count(sql, [d.id, d.app, d.event, d.url, d.body, d.dedupeKey, now, new Date(now).toISOString()])) === 1;
  }

  async claim(owner: string, leaseMs: number): Promise<WebhookDelivery | undefined> {
    const now = Date.now();
    const r = await this.pool.query<Row>(
      `UPDATE webhook_deliveries SET state = 'delivering', lease_owner = $1, lease_until = $2, updated_at = $3
       WHERE id = (
         SELECT id FROM webhook_deliveries
         WHERE (state = 'pending' AND next_attempt_at <= $4) OR (state = 'delivering' AND lease_until < $4)
         ORDER BY next_attempt_at, created_at LIMIT 1
         FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [owner, now + leaseMs, new Date(now).toISOString(), now],
    );
    return r.rows[0] && toDelivery(r.rows[0]);
  }

  async complete(id: string, owner: string, status: number): Promise<void> {
    await this.pool.query(
      `UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, last_status = $1, last_error = NULL, delivered_at = $2,
         next_attempt_at = NULL, lease_owner = NULL, lease_until = NULL, updated_at = $2
       WHERE id = $3 AND lease_owner = $4`,
      [status, new Date().toISOString(), id, owner],
    );
  }

  async retryLater(id: string, owner: string, at: number, error: string, status?: number): Promise<void> {
    await this.pool.query(
      `UPDATE webhook_deliveries SET state = 'pending', attempts = attempts + 1, next_attempt_at = $1, last_error = $2, last_status = $3,
         lease_owner = NULL, lease_until = NULL, updated_at = $4
       WHERE id = $5 AND lease_owner = $6`,
      [at, error, status ?? null, new Date().toISOString(), id, owner],
    );
  }

  async fail(id: string, owner: string, error: string, status?: number): Promise<void> {
    await this.pool.query(
      `UPDATE webhook_deliveries SET state = 'failed', attempts = attempts + 1, next_attempt_at = NULL, last_error = $1, last_status = $2,
         lease_owner = NULL, lease_until = NULL, updated_at = $3
       WHERE id = $4 AND lease_owner = $5`,
      [error, status ?? null, new Date().toISOString(), id, owner],
    );
  }

  async release(id: string, owner: string): Promise<void> {
    await this.pool.query(
      `UPDATE webhook_deliveries SET state = 'pending', lease_owner = NULL, lease_until = NULL, updated_at = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'delivering'`,
      [new Date().toISOString(), id, owner],
    );
  }

  async releaseOwner(owner: string): Promise<number> {
    return this.count(
      `UPDATE webhook_deliveries SET state = 'pending', lease_owner = NULL, lease_until = NULL, updated_at = $1 WHERE lease_owner = $2 AND state = 'delivering'`,
      [new Date().toISOString(), owner],
    );
  }

  async get(id: string): Promise<WebhookDelivery | undefined> {
    const r = (await this.pool.query<Row>('SELECT * FROM webhook_deliveries WHERE id = $1', [id])).rows[0];
    return r && toDelivery(r);
  }

  async list(f: { app?: string; state?: DeliveryState; limit: number; offset?: number }): Promise<WebhookDelivery[]> {
    const r = await this.pool.query<Row>(
      `SELECT * FROM webhook_deliveries WHERE ($1::text IS NULL OR app = $1) AND ($2::text IS NULL OR state = $2)
       ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4`,
      [f.app ?? null, f.state ?? null, f.limit, f.offset ?? 0],
    );
    return r.rows.map(toDelivery);
  }

  async retry(id: string): Promise<boolean> {
    const now = Date.now();
    const sql = `UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = $1, updated_at = $2 WHERE id = $3 AND state IN ('failed', 'pending')`;
    return (await this.count(sql, [now, new Date(now).toISOString(), id])) === 1;
  }

  async nextDueAt(): Promise<number | undefined> {
    const r = await this.pool.query<{ at: number | null }>(
      `SELECT MIN(CASE WHEN state = 'pending' THEN next_attempt_at ELSE lease_until END) AS at FROM webhook_deliveries WHERE state IN ('pending', 'delivering')`,
    );
    return r.rows[0].at ?? undefined;
  }

  async backlog(): Promise<{ count: number; oldestCreatedAt?: string }> {
    const r = await this.pool.query<{ n: number; oldest: string | null }>(
      `SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM webhook_deliveries WHERE state IN ('pending', 'delivering')`,
    );
    return { count: r.rows[0].n, oldestCreatedAt: r.rows[0].oldest ?? undefined };
  }

  async prune(before: Date): Promise<number> {
    return this.count(`DELETE FROM webhook_deliveries WHERE state IN ('delivered', 'failed') AND created_at < $1`, [before.toISOString()]);
  }
}
