/** The recording catalog on SQLite. */
import type { FileState, NewFile, RecordingCatalog, RecordingRecord, RecordingWithFiles, FileRecord } from '../types.js';
import type { Db } from './database.js';
import { toFile, toRecording, type FileRow, type RecordingRow } from './rows.js';

const STATES: FileState[] = ['local', 'queued', 'uploading', 'uploaded', 'failed'];

export class SqliteCatalog implements RecordingCatalog {
  constructor(private readonly db: Db) {}

  async addRecording(r: Omit<RecordingRecord, 'createdAt'>, files: NewFile[]): Promise<void> {
    const now = new Date().toISOString();
    const insertRecording = this.db.prepare(
      `INSERT INTO recordings (id, app, stream_id, protocol, name, started_at, ended_at, duration_seconds, size_bytes, video, audio, recovered, created_at)
       VALUES (@id, @app, @streamId, @protocol, @name, @startedAt, @endedAt, @durationSeconds, @sizeBytes, @video, @audio, @recovered, @now)
       ON CONFLICT (id) DO NOTHING`,
    );
    const insertFile = this.db.prepare(
      `INSERT INTO recording_files (recording_id, app, kind, name, local_path, size, state, created_at, updated_at)
       VALUES (@recordingId, @app, @kind, @name, @localPath, @size, 'local', @now, @now)
       ON CONFLICT (recording_id, name) DO NOTHING`,
    );
    this.db.transaction(() => {
      insertRecording.run({
        id: r.recordingId,
        app: r.app,
        streamId: r.streamId,
        protocol: r.protocol,
        name: r.name,
        startedAt: r.startedAt,
        endedAt: r.endedAt,
        durationSeconds: r.durationSeconds,
        sizeBytes: r.sizeBytes,
        video: r.video ? JSON.stringify(r.video) : null,
        audio: r.audio ? JSON.stringify(r.audio) : null,
        recovered: r.recovered ? 1 : 0,
        now,
      });
      for (const f of files) insertFile.run({ recordingId: r.recordingId, app: r.app, kind: f.kind, name: f.name, localPath: f.localPath, size: f.size, now });
    })();
  }

  async getRecording(recordingId: string): Promise<RecordingWithFiles | undefined> {
    const row = this.db.prepare('SELECT * FROM recordings WHERE id = ?').get(recordingId) as RecordingRow | undefined;
    if (!row) return undefined;
    const files = this.db.prepare('SELECT * FROM recording_files WHERE recording_id = ? ORDER BY id').all(recordingId) as FileRow[];
    return { ...toRecording(row), files: files.map(toFile) };
  }

  async listRecordings(filter: { app?: string; streamId?: string; limit?: number; offset?: number } = {}): Promise<RecordingRecord[]> {
    const rows = this.db
      .prepare(
        `SELECT * FROM recordings
         WHERE (@app IS NULL OR app = @app) AND (@streamId IS NULL OR stream_id = @streamId)
         ORDER BY started_at DESC, id DESC LIMIT @limit OFFSET @offset`,
      )
      .all({ app: filter.app ?? null, streamId: filter.streamId ?? null, limit: filter.limit ?? 100, offset: filter.offset ?? 0 }) as RecordingRow[];
    return rows.map(toRecording);
  }

  async findFile(app: string, name: string): Promise<FileRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM recording_files WHERE app = ? AND name = ? ORDER BY id DESC LIMIT 1').get(app, name) as FileRow | undefined;
    return row ? toFile(row) : undefined;
  }

  async uploadedLocalCopies(app: string, endedBefore: Date, limit: number): Promise<FileRecord[]> {
    const rows = this.db
      .prepare(
        `SELECT f.* FROM recording_files f JOIN recordings r ON r.id = f.recording_id
         WHERE f.app = ? AND f.state = 'uploaded' AND f.local_path IS NOT NULL AND f.local_deleted_at IS NULL AND r.ended_at < ?
         ORDER BY f.id LIMIT ?`,
      )
      .all(app, endedBefore.toISOString(), limit) as FileRow[];
    return rows.map(toFile);
  }

  async markLocalDeleted(fileId: number): Promise<void> {
    const now = new Date().toISOString();
    this.db.prepare('UPDATE recording_files SET local_deleted_at = ?, updated_at = ? WHERE id = ?').run(now, now, fileId);
  }

  async countByState(app?: string): Promise<Record<FileState, number>> {
    const rows = this.db
      .prepare('SELECT state, COUNT(*) AS n FROM recording_files WHERE (@app IS NULL OR app = @app) GROUP BY state')
      .all({ app: app ?? null }) as Array<{ state: FileState; n: number }>;
    const out = Object.fromEntries(STATES.map((s) => [s, 0])) as Record<FileState, number>;
    for (const r of rows) out[r.state] = r.n;
    return out;
  }
}
