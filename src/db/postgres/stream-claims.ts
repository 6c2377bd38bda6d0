/**
 * One publisher per `app/streamId` across nodes, as rows of `stream_claims`.
 * A claim is an upsert that only takes over a row whose lease lapsed (its node
 * stopped renewing: it died) or that the same node already holds, so two
 * nodes racing for one stream id are serialized by the primary key: the
 * second waits for the first's insert and then finds a live claim. Times are
 * the database's `now()`, never a node's clock.
 */
import type pg from 'pg';
import type { StreamClaim, StreamClaimStore } from '../types.js';

interface Row {
  app: string;
  stream_id: string;
  node_id: string;
  claimed_at: Date;
  lease_until: Date;
}

export class PgStreamClaims implements StreamClaimStore {
  constructor(private readonly pool: pg.Pool) {}

  async claim(app: string, streamId: string, nodeId: string, leaseMs: number): Promise<{ ok: true } | { ok: false; heldBy: string }> {
    const taken = await this.pool.query(
      `INSERT INTO stream_claims (app, stream_id, node_id, claimed_at, lease_until)
       VALUES ($1, $2, $3, now(), now() + $4 * interval '1 millisecond')
       ON CONFLICT (app, stream_id) DO UPDATE SET node_id = excluded.node_id, claimed_at = excluded.claimed_at, lease_until = excluded.lease_until
       WHERE stream_claims.lease_until < now() OR stream_claims.node_id = excluded.node_id
       RETURNING node_id`,
      [app, streamId, nodeId, leaseMs],
    );
    if (taken.rows.length === 1) return { ok: true };
    const holder = await this.pool.query<{ node_id: string }>('SELECT node_id FROM stream_claims WHERE app = $1 AND stream_id = $2', [app, streamId]);
    // The holder may have released it between the two statements; it is still refused (the publisher retries).
    return { ok: false, heldBy: holder.rows[0]?.node_id ?? 'another node' };
  }

  async renew(nodeId: string, streams: ReadonlyArray<{ app: string; streamId: string }>, leaseMs: number): Promise<number> {
    if (streams.length === 0) return 0;
    // One statement for every live stream of the node: the renewal costs one query per interval, not one per stream.
    const r = await this.pool.query(
      `UPDATE stream_claims SET lease_until = now() + $2 * interval '1 millisecond'
       WHERE node_id = $1 AND (app, stream_id) IN (SELECT * FROM unnest($3::text[], $4::text[]))`,
      [nodeId, leaseMs, streams.map((s) => s.app), streams.map((s) => s.streamId)],
    );
    return r.rowCount ?? 0;
  }

  async release(app: string, streamId: string, nodeId: string): Promise<boolean> {
    const r = await this.pool.query('DELETE FROM stream_claims WHERE app = $1 AND stream_id = $2 AND node_id = $3', [app, streamId, nodeId]);
    return (r.rowCount ?? 0) === 1;
  }

  async releaseNode(nodeId: string): Promise<number> {
    return (await this.pool.query('DELETE FROM stream_claims WHERE node_id = $1', [nodeId])).rowCount ?? 0;
  }

  async list(): Promise<StreamClaim[]> {
    const r = await this.pool.query<Row>('SELECT * FROM stream_claims WHERE lease_until >= now() ORDER BY app, stream_id');
    return r.rows.map((x) => ({ app: x.app, streamId: x.stream_id, nodeId: x.node_id, claimedAt: x.claimed_at.toISOString(), leaseUntil: x.lease_until.getTime() }));
  }
}
