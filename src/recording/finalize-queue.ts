/**
 * Finalizes and announces recordings, and keeps those that cannot be yet: a
 * recording that has no room on the disk for its remux, or whose
 * `recording.completed` a listener failed, keeps its files and manifest and
 * is tried again with backoff, without waiting for a restart. A recording is
 * forgotten (its work dir removed) once every listener succeeded.
 */
import type { Logger } from '../log/logger.js';
import type { EventBus } from '../events/event-bus.js';
import type { BusEvents, RecordingCompleted } from '../events/types.js';
import { errorMessage } from '../errors.js';
import type { Slots } from '../queue/slots.js';
import type { DataLayout } from './layout.js';
import { readCompleted, removeWorkDir, writeCompleted, type RecordingManifest } from './manifest.js';
import { recordingPaths } from './paths.js';
import { finalizeRecording } from './finalizer.js';
import { isDiskFull } from './disk-space.js';

/** First retry of a recording that could not be finalized or announced; doubled up to the maximum. */
const PENDING_RETRY_MS = 2_000;
const PENDING_RETRY_MAX_MS = 60_000;
/** Retry of a recording waiting for disk space: checking is cheap (the finalizer measures before it remuxes). */
const PENDING_DISK_RETRY_MS = 3_000;

/** The disk as the recording manager needs it. */
export interface DiskLevel {
  freeBytes(): number;
  isLow(): boolean;
}

export interface FinalizeQueueOptions {
  layout: DataLayout;
  ffmpegPath: string;
  ffprobePath: string;
  events: EventBus<BusEvents>;
  log: Logger;
  disk?: DiskLevel;
  /** Finalizations running at once (shared with the parts of live recordings). */
  finalizing: Slots;
}

/** A recording kept on disk until it can be finalized and announced. */
interface Pending {
  manifest: RecordingManifest;
  endedAt?: Date;
  recovered: boolean;
  failures: number;
  dueAt: number;
}

export class FinalizeQueue {
  private readonly pending = new Map<string, Pending>();
  private timer?: NodeJS.Timeout;
  private retrying?: Promise<void>;
  private stopping = false;

  constructor(private readonly o: FinalizeQueueOptions) {}

  /** Options of the finalizer for one recording. */
  finalizeOptions(log: Logger) {
    const { disk } = this.o;
    return { ffmpegPath: this.o.ffmpegPath, ffprobePath: this.o.ffprobePath, log, freeBytes: disk && (() => disk.freeBytes()) };
  }

  /**
   * Finalizes, announces, and forgets a recording once every listener succeeded.
   * Never throws: what cannot be done now is kept and tried again later.
   */
  async complete(m: RecordingManifest, log: Logger, endedAt: Date | undefined, recovered: boolean): Promise<void> {
    const paths = recordingPaths(this.o.layout, m);
    // Finalized before (then a listener failed, or the process died): announced again as it was, never finalized twice.
    let done: RecordingCompleted | null | undefined = readCompleted(paths.workDir);
    if (!done) {
      try {
        const opts = { ...this.finalizeOptions(log), endedAt, recovered };
        done = await this.o.finalizing.run(() => finalizeRecording(m, paths, opts));
        if (done) await writeCompleted(paths.workDir, done);
      } catch (err) {
        this.later(m, endedAt, recovered, log, isDiskFull(err) ? 'no room on the disk' : 'finalization failed', errorMessage(err), isDiskFull(err));
        return;
      }
      if (!done) {
        removeWorkDir(paths.workDir);
        this.pending.delete(m.recordingId);
        return;
      }
    } else if (recovered && !done.recovered) {
      done = { ...done, recovered: true };
    }
    log.info(
      { durationSeconds: done.durationSeconds, sizeBytes: done.sizeBytes, files: done.files.length, parts: done.parts?.length ?? 0, recovered },
      'recording completed',
    );
    const handled = await this.o.events.emit('recording.completed', done);
    if (handled) {
      removeWorkDir(paths.workDir);
      this.pending.delete(m.recordingId);
    } else {
      this.later(m, endedAt, recovered, log, 'a listener failed on recording.completed', 'see the listener error above');
    }
  }

  /** Recordings kept on disk, waiting to be finalized or announced. */
  get size(): number {
    return this.pending.size;
  }

  /** Whether a kept recording has this name (names of new recordings must differ). */
  hasName(name: string): boolean {
    for (const p of this.pending.values()) if (p.manifest.name === name) return true;
    return false;
  }

  /** No more retries; resolves once a retry in progress is done (kept recordings wait for the next start). */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    await this.retrying;
  }

  /** Keeps a recording (files and manifest stay) and schedules another try with backoff. */
  private later(m: RecordingManifest, endedAt: Date | undefined, recovered: boolean, log: Logger, why: string, err: string, diskFull = false): void {
    const p = this.pending.get(m.recordingId) ?? { manifest: m, endedAt, recovered, failures: 0, dueAt: 0 };
    p.failures++;
    const delay = diskFull ? PENDING_DISK_RETRY_MS : Math.min(PENDING_RETRY_MAX_MS, PENDING_RETRY_MS * 2 ** Math.min(p.failures - 1, 10));
    p.dueAt = Date.now() + delay;
    this.pending.set(m.recordingId, p);
    // Waiting for space is logged once, not every few seconds.
    if (!diskFull || p.failures === 1) log.error({ err, attempts: p.failures, retryInMs: delay }, `recording kept, not finalized yet: ${why}; trying again`);
    this.schedule();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (this.stopping || this.pending.size === 0 || this.retrying) return;
    const next = Math.min(...[...this.pending.values()].map((p) => p.dueAt));
    this.timer = setTimeout(() => {
      this.retrying = this.retry().finally(() => {
        this.retrying = undefined;
        this.schedule();
      });
    }, Math.max(50, next - Date.now()));
    this.timer.unref();
  }

  private async retry(): Promise<void> {
    for (const p of [...this.pending.values()]) {
      if (this.stopping) return;
      if (p.dueAt > Date.now()) continue;
      const m = p.manifest;
      const log = this.o.log.child({ app: m.app, streamId: m.streamId, recordingId: m.recordingId, name: m.name });
      log.info({ attempts: p.failures }, 'finalizing a kept recording');
      await this.complete(m, log, p.endedAt, p.recovered);
    }
  }
}
