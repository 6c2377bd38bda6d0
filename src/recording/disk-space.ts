/**
 * Free space of the data dir's filesystem, for admission (a publisher is
 * refused while free space is below the minimum) and for finalization (a
 * remux needs about the live file's size again; without it the recording
 * waits, kept, until space comes back).
 */
import { statfsSync } from 'node:fs';
import type { Logger } from '../log/logger.js';

const MiB = 1024 * 1024;

export interface DiskSpaceOptions {
  /** The data dir; its filesystem is measured. */
  dir: string;
  /** Below this many free bytes new publishers are refused. */
  minFreeBytes: number;
  log: Logger;
}

/** The figures `/healthz` shows. */
export interface DiskFigures {
  freeBytes: number;
  minFreeBytes: number;
  low: boolean;
}

export class DiskSpace {
  private warned = false;

  constructor(private readonly o: DiskSpaceOptions) {}

  /** Bytes an unprivileged writer may still use; Infinity when the filesystem cannot be measured. */
  freeBytes(): number {
    try {
      const s = statfsSync(this.o.dir);
      return s.bavail * s.bsize;
    } catch (err) {
      // A filesystem we cannot measure must not stop every publisher: say so once and admit.
      if (!this.warned) this.o.log.warn({ dir: this.o.dir, err: (err as Error).message }, 'cannot measure free disk space');
      this.warned = true;
      return Number.POSITIVE_INFINITY;
    }
  }

  /** True while free space is below the minimum. */
  isLow(): boolean {
    return this.freeBytes() < this.o.minFreeBytes;
  }

  /** Why a new publisher is refused now, or null when there is room. */
  refusal(): string | null {
    const free = this.freeBytes();
    if (free >= this.o.minFreeBytes) return null;
    return `the recording disk is full: ${Math.floor(free / MiB)} MiB free, at least ${Math.round(this.o.minFreeBytes / MiB)} MiB needed to record (server.minFreeDiskMiB)`;
  }

  figures(): DiskFigures {
    const free = this.freeBytes();
    return { freeBytes: Number.isFinite(free) ? free : -1, minFreeBytes: this.o.minFreeBytes, low: free < this.o.minFreeBytes };
  }
}

/** Whether an error says the disk is full (Node's ENOSPC/EDQUOT, SQLite's SQLITE_FULL, ffmpeg's message). */
export function isDiskFull(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | undefined;
  if (e?.code === 'ENOSPC' || e?.code === 'EDQUOT' || e?.code === 'SQLITE_FULL' || e?.code === 'insufficient_storage') return true;
  return /No space left on device|ENOSPC|database or disk is full|Disk quota exceeded/i.test(e?.message ?? String(err));
}
