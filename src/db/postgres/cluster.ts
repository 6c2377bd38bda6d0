/**
 * What the nodes sharing one PostgreSQL know of each other: reserved
 * recording names (`recording_names`), each node's heartbeat
 * (`cluster_nodes`), and NOTIFY messages between them (a kick relayed to the
 * node that holds the publisher). Times are the database's clock.
 */
import type pg from 'pg';
import type { ClusterNode, ClusterNodeStore, RecordingNameStore } from '../types.js';
import { listen } from './notifications.js';

export class PgRecordingNames implements RecordingNameStore {
  constructor(private readonly pool: pg.Pool) {}

  async reserve(app: string, name: string, nodeId: string): Promise<boolean> {
    const r = await this.pool.query('INSERT INTO recording_names (app, name, node_id) VALUES ($1, $2, $3) ON CONFLICT (app, name) DO NOTHING', [app, name, nodeId]);
    return (r.rowCount ?? 0) === 1;
  }

  async nodeOf(app: string, name: string): Promise<string | undefined> {
    const r = await this.pool.query<{ node_id: string }>('SELECT node_id FROM recording_names WHERE app = $1 AND name = $2', [app, name]);
    return r.rows[0]?.node_id;
  }
}

interface NodeRow {
  node_id: string;
  internal_url: string | null;
  version: string;
  started_at: Date;
  last_seen_at: Date;
  live_streams: number;
  stopped: boolean;
  alive: boolean;
}

export class PgClusterNodes implements ClusterNodeStore {
  constructor(
    private readonly pool: pg.Pool,
    /** The database URL, for the dedicated connections `listen` opens. */
    private readonly url: string,
  ) {}

  async heartbeat(n: { nodeId: string; internalUrl?: string; version: string; startedAt: string; liveStreams: number }): Promise<void> {
    await this.pool.query(
      `INSERT INTO cluster_nodes (node_id, internal_url, version, started_at, last_seen_at, live_streams, stopped)
       VALUES ($1, $2, $3, $4, now(), $5, false)
       ON CONFLICT (node_id) DO UPDATE SET internal_url = excluded.internal_url, version = excluded.version, started_at = excluded.started_at,
         last_seen_at = now(), live_streams = excluded.live_streams, stopped = false`,
      [n.nodeId, n.internalUrl ?? null, n.version, n.startedAt, n.liveStreams],
    );
  }

  async stopped(nodeId: string): Promise<void> {
    await this.pool.query('UPDATE cluster_nodes SET stopped = true, live_streams = 0, last_seen_at = now() WHERE node_id = $1', [nodeId]);
  }

  async list(lapseMs: number): Promise<ClusterNode[]> {
    const r = await this.pool.query<NodeRow>(
      `SELECT *, (NOT stopped AND last_seen_at > now() - $1 * interval '1 millisecond') AS alive FROM cluster_nodes
       ORDER BY alive DESC, node_id`,
      [lapseMs],
    );
    return r.rows.map((x) => ({
      nodeId: x.node_id,
      ...(x.internal_url ? { internalUrl: x.internal_url } : {}),
      version: x.version,
      startedAt: x.started_at.toISOString(),
      lastSeenAt: x.last_seen_at.toISOString(),
      liveStreams: x.alive ? x.live_streams : 0,
      alive: x.alive,
      stopped: x.stopped,
    }));
  }

  async notify(channel: string, payload: string): Promise<void> {
    await this.pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
  }

  listen(channel: string, onPayload: (payload: string | null) => void, onError?: (message: string) => void): Promise<{ close(): Promise<void> }> {
    return listen(this.url, channel, onPayload, onError);
  }
}
