/**
 * Deletes local copies that are no longer needed, only ever of files whose
 * upload is confirmed: in dual mode once the recording ended more than
 * `dualRetentionDays` ago; in primary mode at once (catching a copy a crash
 * left between "uploaded" and its deletion). Runs periodically, more often
 * when a retention is short.
 */
import type { Logger } from '../../log/logger.js';
import type { AppLookup } from '../../apps/app-registry.js';
import type { RecordingCatalog } from '../../db/types.js';
import { errorMessage } from '../../errors.js';
import { deleteLocalCopy } from '../targets/local-files.js';

const DAY_MS = 86_400_000;
const MAX_PERIOD_MS = 10 * 60_000;
const MIN_PERIOD_MS = 1_000;
const BATCH = 500;
const END_OF_TIME = new Date(Date.UTC(9999, 0, 1));

export interface RetentionSweeperOptions {
  /** Which uploaded files still have a local copy. */
  catalog: RecordingCatalog;
  /** Each app's storage mode and retention. */
  apps: AppLookup;
  /** Local copies are only deleted inside it. */
  dataDir: string;
  /** Resolves once the rows read so far survive a power cut (`Store.durable`). */
  durable: () => Promise<void>;
  log: Logger;
}

export class RetentionSweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;
  private stopped = true;

  constructor(private readonly o: RetentionSweeperOptions) {}

  start(): void {
    this.stopped = false;
    this.arm(MIN_PERIOD_MS);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass over every app; resolves with the number of local copies deleted. */
  async sweepOnce(): Promise<number> {
    let deleted = 0;
    for (const app of this.o.apps.list()) {
      const s = app.s3;
      // Primary mode keeps no confirmed copy, whenever its recording ended.
      const cutoff = s.storageMode === 'primary' ? END_OF_TIME : new Date(Date.now() - s.dualRetentionDays * DAY_MS);
      // One batch per app and pass: a file that cannot be deleted is tried again next pass, not in a loop.
      const batch = await this.o.catalog.uploadedLocalCopies(app.name, cutoff, BATCH);
      if (batch.length) await this.o.durable();
      for (const f of batch) {
        try {
          await deleteLocalCopy(this.o.dataDir, f.localPath!);
          await this.o.catalog.markLocalDeleted(f.id);
          deleted++;
          this.o.log.info({ app: app.name, recordingId: f.recordingId, file: f.name, mode: s.storageMode }, 'local copy deleted (upload confirmed, retention passed)');
        } catch (err) {
          this.o.log.warn({ app: app.name, file: f.name, err: errorMessage(err) }, 'could not delete a local copy');
        }
      }
    }
    return deleted;
  }

  /** Sweep period: a tenth of the shortest dual retention, between 1 s and 10 min. */
  private period(): number {
    const days = this.o.apps
      .list()
      .filter((a) => a.s3.storageMode === 'dual')
      .map((a) => a.s3.dualRetentionDays);
    if (days.length === 0) return MAX_PERIOD_MS;
    return Math.min(MAX_PERIOD_MS, Math.max(MIN_PERIOD_MS, (Math.min(...days) * DAY_MS) / 10));
  }

  private arm(ms: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.sweepOnce().catch((err) => {
        this.o.log.error({ err: errorMessage(err) }, 'retention sweep failed');
        return 0;
      });
      void this.running.finally(() => this.arm(this.period()));
    }, ms);
  }
}
