/**
 * Finalizes the parts of a recording while its stream goes on. ffmpeg names a
 * part in its CSV list when it closes it; the watcher looks at the list
 * five times a second (a file of a few lines: cheaper and steadier than fs.watch across
 * filesystems; the list is read only when its size or time changed since a look that
 * left nothing to do, so a look costs one stat), finalizes each closed part and announces it. A part is taken
 * only once ffmpeg has opened the next one, so the last part of a recording
 * is left to the recording's own finalization (which names a recording of
 * one part `<name>.mp4`). What fails (no room for the remux, a listener
 * failed) is tried again at the next look.
 */
import type { Logger } from '../log/logger.js';
import { every, fileStamp } from './ticker.js';
import { errorMessage } from '../errors.js';
import type { RecordingManifest } from './manifest.js';
import type { RecordingPaths } from './paths.js';
import { livePartExists, partFileName, readPartList, type PartRecord } from './parts.js';

const LOOK_EVERY_MS = 200;

/** Where the time between a part's close and its announcement went, ms (logged with the part). */
export interface PartTimings {
  /** From when the watcher first saw the part closed to the start of its finalization (a busy slot). */
  waitMs?: number;
  /** The remux, its fsync included. */
  remuxMs?: number;
  fsyncMs?: number;
  probeMs?: number;
  recordMs?: number;
}

export interface PartWatcherOptions {
  manifest: RecordingManifest;
  paths: RecordingPaths;
  /** Finalizes part `n` under the given final name (idempotent); null when it holds no media. `timings` gets what each step took. */
  finalize: (n: number, finalName: string, timings: PartTimings) => Promise<PartRecord | null>;
  /** Announces a finalized part; false when a listener failed (announced again later). */
  announce: (rec: PartRecord, timings: PartTimings) => Promise<boolean>;
  log: Logger;
}

export class PartWatcher {
  private stopTicking?: () => void;
  private looking?: Promise<void>;
  private readonly announced = new Set<number>();
  private stopped = false;
  /** The list's size and time at the last look that left nothing pending ('' before). */
  private settled = '';

  constructor(private readonly o: PartWatcherOptions) {}

  start(): void {
    this.stopTicking = every(LOOK_EVERY_MS, () => {
      if (this.looking || this.stopped) return;
      this.looking = this.look().finally(() => (this.looking = undefined));
    });
  }

  /** Stops looking; resolves once a look in progress is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopTicking?.();
    await this.looking;
  }

  private async look(): Promise<void> {
    const { manifest: m, paths: p, log } = this.o;
    const stamp = fileStamp(p.partList) ?? 'none';
    if (stamp === this.settled) return;
    const list = readPartList(m, p);
    const closed = [...list.keys()].sort((a, b) => a - b);
    let pending = false;
    for (const n of closed) {
      if (this.stopped) return;
      if (this.announced.has(n)) continue;
      if (!(list.has(n + 1) || livePartExists(m, p, n + 1))) {
        pending = true; // closed, but ffmpeg has not opened the next part yet: looked at again next time
        continue;
      }
      try {
        const timings: PartTimings = {};
        const rec = await this.o.finalize(n, partFileName(m.name, n), timings);
        if (!rec) {
          this.announced.add(n);
          continue;
        }
        if (await this.o.announce(rec, timings)) this.announced.add(n);
      } catch (err) {
        log.error({ err: errorMessage(err), part: n }, 'part not finalized yet; trying again');
        return;
      }
      if (!this.announced.has(n)) pending = true; // a listener failed: announced again next time
    }
    if (!pending) this.settled = stamp;
  }
}
