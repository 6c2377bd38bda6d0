/**
 * Records every live stream: one loop per stream (`stream-loop.ts`), the
 * finalize/retry queue (`finalize-queue.ts`) and start-up recovery
 * (`recovery.ts`), wired here. It knows nothing of what happens to a finished
 * recording: it emits `recording.part` for each closed MP4 part while live
 * and `recording.completed` at the end, and forgets a recording once every
 * listener succeeded.
 */
import os from 'node:os';
import { existsSync } from 'node:fs';
import type { Logger } from '../log/logger.js';
import type { Lifecycle } from '../lifecycle.js';
import type { AppLookup } from '../apps/app-registry.js';
import type { EventBus } from '../events/event-bus.js';
import type { BusEvents } from '../events/types.js';
import type { PublisherSession } from '../ingest/types.js';
import { AppError, errorMessage } from '../errors.js';
import { Slots } from '../queue/slots.js';
import type { DataLayout } from './layout.js';
import { recordingPaths } from './paths.js';
import { FinalizeQueue, type DiskLevel } from './finalize-queue.js';
import { recoverRecordings } from './recovery.js';
import { recordStream, type Active } from './stream-loop.js';

export type { DiskLevel } from './finalize-queue.js';

export interface RecordingManagerOptions {
  layout: DataLayout;
  apps: AppLookup;
  ffmpegPath: string;
  ffprobePath: string;
  /** Where `recording.started` / `recording.part` / `recording.completed` go. */
  events: EventBus<BusEvents>;
  log: Logger;
  /** Milliseconds ffmpeg gets to finish after end-of-input before SIGINT. */
  stopGraceMs?: number;
  /** Free space of the data dir; without it the disk is never considered full. */
  disk?: DiskLevel;
  /** Recordings finalized at once (remux, probe, playlist); the others wait. Default: one per CPU. */
  finalizeConcurrency?: number;
  /** Reserves recording names in the store (across nodes on PostgreSQL). */
  reservations?: { reserve(app: string, name: string): Promise<boolean>; nodeId: string };
}

/** A recording in progress, for the API. */
export interface ActiveRecording {
  recordingId: string;
  app: string;
  streamId: string;
  name: string;
  startedAt: string;
}

export class RecordingManager implements Lifecycle {
  private readonly active = new Map<string, Active>();
  private readonly names = new Set<string>();
  private recovery: Promise<void> = Promise.resolve();
  private stopping = false;
  private readonly log: Logger;
  private readonly finalizing: Slots;
  private readonly queue: FinalizeQueue;

  constructor(private readonly options: RecordingManagerOptions) {
    this.log = options.log.child({ module: 'recording' });
    this.finalizing = new Slots(options.finalizeConcurrency ?? Math.max(1, os.availableParallelism()));
    const { layout, ffmpegPath, ffprobePath, events, disk } = options;
    this.queue = new FinalizeQueue({ layout, ffmpegPath, ffprobePath, events, disk, finalizing: this.finalizing, log: this.log });
  }

  /** Finalizes, in the background, recordings a killed process left in progress. */
  async start(): Promise<void> {
    const isRecorded = (app: string, streamId: string) => this.active.has(key(app, streamId));
    this.recovery = recoverRecordings({ layout: this.options.layout, queue: this.queue, isRecorded, log: this.log }).catch((err) =>
      this.log.error({ err: errorMessage(err) }, 'recovery failed'),
    );
  }

  /** Resolves when start-up recovery is done. */
  whenRecovered(): Promise<void> {
    return this.recovery;
  }

  /** Starts recording a newly published stream (when its app records anything). */
  record(session: PublisherSession): void {
    const k = key(session.app, session.streamId);
    if (this.stopping || this.active.has(k)) return;
    const app = this.options.apps.get(session.app);
    if (!app || !(app.mp4MuxingEnabled || app.hlsMuxingEnabled || app.previews.enabled)) return;
    const entry: Active = { session, wanted: true, cancel: new AbortController(), loop: Promise.resolve() };
    this.active.set(k, entry);
    const { layout, apps, ffmpegPath, events, disk, stopGraceMs } = this.options;
    const deps = { layout, apps, ffmpegPath, events, disk, stopGraceMs, queue: this.queue, finalizing: this.finalizing, names: this.names, stopping: () => this.stopping, reservations: this.options.reservations, log: this.log };
    entry.loop = recordStream(entry, deps).finally(() => {
      if (this.active.get(k) === entry) this.active.delete(k);
    });
  }

  /** Starts recording a live stream that is not being recorded (API). */
  startFor(session: PublisherSession): void {
    if (this.active.has(key(session.app, session.streamId))) throw new AppError('already_recording', 'stream is already being recorded', 409);
    this.record(session);
  }

  /** Stops recording a stream while it stays live (API); resolves once the recording is final. */
  async stopFor(app: string, streamId: string): Promise<void> {
    const entry = this.active.get(key(app, streamId));
    if (!entry) throw new AppError('not_recording', 'stream is not being recorded', 409);
    entry.wanted = false;
    entry.cancel.abort();
    await entry.recorder?.stop(this.options.stopGraceMs);
    await entry.loop;
  }

  /** Recordings in progress. */
  list(): ActiveRecording[] {
    return [...this.active.values()]
      .filter((a) => a.manifest)
      .map((a) => ({ recordingId: a.manifest!.recordingId, app: a.manifest!.app, streamId: a.manifest!.streamId, name: a.manifest!.name, startedAt: a.manifest!.startedAt }));
  }

  /** Path of the HLS playlist being written for a live stream, if any. */
  livePlaylist(app: string, streamId: string): string | undefined {
    const m = this.active.get(key(app, streamId))?.manifest;
    if (!m?.hls) return undefined;
    const file = recordingPaths(this.options.layout, m).playlist;
    return existsSync(file) ? file : undefined;
  }

  /** Recordings kept on disk, waiting to be finalized or announced (health, tests). */
  pendingCount(): number {
    return this.queue.size;
  }

  /** No new recording and no restart from now on (shutdown has begun). */
  drain(): void {
    this.stopping = true;
  }

  /** Stops every recording and waits until each is final (kept ones wait for the next start). */
  async stop(): Promise<void> {
    this.stopping = true;
    // Kept recordings are not retried during shutdown (they wait for the next start).
    const queueStopped = this.queue.stop();
    const all = [...this.active.values()];
    for (const a of all) {
      a.wanted = false;
      a.cancel.abort();
      void a.recorder?.stop(this.options.stopGraceMs);
    }
    await Promise.all(all.map((a) => a.loop));
    await this.recovery;
    await queueStopped;
  }
}

function key(app: string, streamId: string): string {
  return `${app}/${streamId}`;
}
