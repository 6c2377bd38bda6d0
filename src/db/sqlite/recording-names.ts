/** Reserved recording names on SQLite (one node: it keeps its own names apart). */
import type { RecordingNameStore } from '../types.js';
import type { Db } from './database.js';

export class SqliteRecordingNames implements RecordingNameStore {
  constructor(private readonly db: Db) {}

  async reserve(app: string, name: string, nodeId: string): Promise<boolean> {
    const r = this.db
      .prepare('INSERT INTO recording_names (app, name, node_id, reserved_at) VALUES (?, ?, ?, ?) ON CONFLICT (app, name) DO NOTHING')
      .run(app, name, nodeId, new Date().toISOString());
    return r.changes === 1;
  }

  async nodeOf(app: string, name: string): Promise<string | undefined> {
    const row = this.db.prepare('SELECT node_id FROM recording_names WHERE app = ? AND name = ?').get(app, name) as { node_id: string } | undefined;
    return row?.node_id;
  }
}
