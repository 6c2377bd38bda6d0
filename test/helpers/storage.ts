/**
 * The storage module in the test process: a real SQLite store in a temp data
 * dir, a real app registry and event bus, a logger whose lines are kept, and
 * recordings planted on disk and announced with `recording.completed` as the
 * recording manager does.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { appSettings, type AppSettings } from '../../src/config/schema.js';
import { storageSettings } from '../../src/config/storage-schema.js';
import { AppRegistry } from '../../src/apps/app-registry.js';
import { EventBus } from '../../src/events/event-bus.js';
import type { BusEvents, RecordingCompleted } from '../../src/events/types.js';
import { createLogger } from '../../src/log/logger.js';
import { openSqliteStore, type SqliteStore } from '../../src/db/sqlite/index.js';
import { StorageService } from '../../src/storage/storage-service.js';
import { until } from './server.js';

export interface Emitted {
  name: keyof BusEvents;
  payload: BusEvents[keyof BusEvents];
}

export interface StorageHarness {
  dataDir: string;
  store: SqliteStore;
  apps: AppRegistry;
  events: EventBus<BusEvents>;
  service: StorageService;
  /** Every log line, as written. */
  logLines: string[];
  emitted: Emitted[];
  /** Waits for an event matching the predicate (past ones included). */
  waitFor<K extends keyof BusEvents>(name: K, pred: (p: BusEvents[K]) => boolean, timeoutMs?: number): Promise<BusEvents[K]>;
  stop(): Promise<void>;
}

/** App settings through the schema (defaults applied, validated). */
export function appOf(raw: Record<string, unknown>): AppSettings {
  return appSettings.parse(raw);
}

export async function startStorage(apps: AppSettings[], opts: { storage?: Record<string, unknown>; secretKey?: string; dataDir?: string } = {}): Promise<StorageHarness> {
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'bucketcast-storage-'));
  const logLines: string[] = [];
  const log = createLogger('debug', { write: (s: string) => void logLines.push(s) });
  const store = openSqliteStore({ dataDir, secretKey: opts.secretKey });
  const registry = new AppRegistry(apps);
  const events = new EventBus<BusEvents>(log);
  const emitted: Emitted[] = [];
  for (const name of ['upload.progress', 'upload.completed', 'upload.failed'] as const) {
    events.on(name, (payload) => void emitted.push({ name, payload }));
  }
  const service = new StorageService({
    store,
    apps: registry,
    events,
    settings: storageSettings.parse({ retryMaxDelaySeconds: 2, ...opts.storage }),
    dataDir,
    nodeId: 'test-node',
    log,
  });
  await service.start();
  return {
    dataDir,
    store,
    apps: registry,
    events,
    service,
    logLines,
    emitted,
    async waitFor(name, pred, timeoutMs = 30_000) {
      const hit = await until(() => emitted.find((e) => e.name === name && pred(e.payload as never)), timeoutMs, `event ${String(name)}`, 50);
      return hit.payload as never;
    },
    async stop() {
      await service.stop();
    },
  };
}

/**
 * Waits until every file of a planted recording is uploaded and its local copy handled: each file's
 * `upload.completed` comes after its local copy is deleted (primary mode), while the sidecar's may come first
 * (it is queued once the others are verified, before their local copies go).
 */
export async function waitForUploaded(h: StorageHarness, rec: PlantedRecording, timeoutMs = 90_000): Promise<void> {
  const id = rec.completed.recordingId;
  for (const name of rec.contents.keys()) await h.waitFor('upload.completed', (e) => e.recordingId === id && e.name === name, timeoutMs);
  await h.waitFor('upload.completed', (e) => e.recordingId === id && e.kind === 'metadata', timeoutMs);
}

export interface PlantedRecording {
  completed: RecordingCompleted;
  /** File name → its bytes, as planted. */
  contents: Map<string, Buffer>;
}

/**
 * Writes a recording's files under `<dataDir>/<app>/` (random bytes: the
 * pipeline moves bytes, not media) and returns its `recording.completed`.
 */
export function plantRecording(dataDir: string, app: string, opts: { streamId?: string; mp4Bytes?: number; startedAt?: Date } = {}): PlantedRecording {
  const streamId = opts.streamId ?? `cam${randomBytes(2).toString('hex')}`;
  const startedAt = opts.startedAt ?? new Date();
  const name = `${streamId}_${startedAt.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z')}`;
  const streams = path.join(dataDir, app, 'streams');
  const previews = path.join(dataDir, app, 'previews');
  mkdirSync(streams, { recursive: true });
  mkdirSync(previews, { recursive: true });
  const contents = new Map<string, Buffer>();
  const files: RecordingCompleted['files'] = [];
  const add = (kind: RecordingCompleted['files'][number]['kind'], dir: string, file: string, data: Buffer) => {
    writeFileSync(path.join(dir, file), data);
    contents.set(file, data);
    files.push({ kind, path: path.join(dir, file), name: file, size: data.length });
  };
  add('mp4', streams, `${name}.mp4`, randomBytes(opts.mp4Bytes ?? 64 * 1024));
  add('hls-playlist', streams, `${name}.m3u8`, Buffer.from(`#EXTM3U\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:2.0,\n${name}_00000.ts\n#EXT-X-ENDLIST\n`));
  add('hls-segment', streams, `${name}_00000.ts`, randomBytes(32 * 1024));
  add('poster', previews, `${name}.jpg`, randomBytes(4 * 1024));
  const size = files.reduce((n, f) => n + f.size, 0);
  return {
    contents,
    completed: {
      recordingId: randomUUID(),
      app,
      streamId,
      protocol: 'rtmp',
      name,
      startedAt: startedAt.toISOString(),
      endedAt: new Date(startedAt.getTime() + 2000).toISOString(),
      durationSeconds: 2,
      sizeBytes: size,
      video: { codec: 'h264', width: 1280, height: 720, fps: 30 },
      audio: { codec: 'aac', sampleRate: 48000, channels: 2 },
      files,
      recovered: false,
    },
  };
}

/** Removes a harness's data dir. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
