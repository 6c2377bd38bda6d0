/**
 * Works the upload queue: up to `concurrency` files at once, each leased from
 * the queue (renewed while it runs), so the same queue could be shared by
 * several nodes. Failures are classified: a retryable one queues the file
 * again after an exponential backoff with jitter (forever, while it stays
 * retryable) and pauses the app's target the same way, so an outage costs one
 * probe per backoff rather than one request per file; a permanent one marks
 * the file failed — and, when the target itself is wrong (credentials,
 * bucket, region …), every queued file of the app — until its settings
 * change or a retry is requested.
 */
import type { Logger } from '../../log/logger.js';
import { errorMessage } from '../../errors.js';
import type { EventBus } from '../../events/event-bus.js';
import type { BusEvents, UploadSubject } from '../../events/types.js';
import type { UploadJob } from '../../db/types.js';
import { classifyS3Error, type StorageError } from '../targets/errors.js';
import { contextOf } from '../targets/targets.js';
import type { FailureStats } from './failure-stats.js';
import { JobPump } from '../../queue/job-pump.js';
import { backoffMs } from '../../queue/backoff.js';
import { abortAfterFailure, runUploadJob, type AttemptState, type UploadJobDeps } from './upload-job.js';

/** Lease of a running upload; renewed every third of it. */
const LEASE_MS = 60_000;
/** Longest sleep between two looks at the queue (other nodes' work, expired leases). */
const POLL_MS = 5_000;
/** Throttle of `upload.progress` events per file. */
const PROGRESS_EVERY_MS = 500;
/** Longest wait for the abort of a failed attempt's multipart upload. */
const ABORT_TIMEOUT_MS = 15_000;

/** Errors that mean the app's target is wrong, not one file: every queued file of the app fails with them. */
const TARGET_ERRORS = new Set(['invalid_credentials', 'credentials_missing', 'credential_not_found', 'credential_unreadable', 'role_denied', 'bucket_not_found', 'wrong_region', 'kms_denied', 'sse_rejected', 'acl_not_supported', 'checksum_unsupported', 'clock_skew', 'bad_setting', 'uploads_disabled', 'app_removed']);
/** Retryable errors that mean the target is unreachable or overloaded: pause the app's target. */
const OUTAGE_ERRORS = new Set(['unreachable', 'throttled', 'server_error']);

export interface UploadWorkerOptions extends UploadJobDeps {
  /** Where `upload.*` events go. */
  events: EventBus<BusEvents>;
  /** Files uploaded at once. */
  concurrency: number;
  /** Cap of the retry backoff. */
  retryMaxDelayMs: number;
  /** Failure counters by class and code. */
  stats: FailureStats;
  /** Also upload queued files of nodes not seen for 30 s (a cluster on shared storage; `storage.adoptFilesOfDeadNodes`). */
  adoptFromDeadNodes?: boolean;
  log: Logger;
}

export class UploadWorker {
  private readonly paused = new Map<string, { failures: number; until: number }>();
  private readonly pump: JobPump<UploadJob>;

  constructor(private readonly o: UploadWorkerOptions) {
    this.pump = new JobPump({
      name: 'upload queue',
      concurrency: () => o.concurrency,
      claim: () => o.queue.claim(o.nodeId, LEASE_MS, { excludeApps: this.pausedApps(), adoptFromDeadNodes: o.adoptFromDeadNodes }),
      run: (job, ac) => this.process(job, ac),
      nextDueInMs: async () => {
        const now = Date.now();
        const due = await o.queue.nextDueAt({ excludeApps: this.pausedApps(), adoptFromDeadNodes: o.adoptFromDeadNodes });
        const resumes = [...this.paused.values()].filter((p) => p.until > now).map((p) => p.until);
        const at = Math.min(due ?? Infinity, ...resumes);
        return Number.isFinite(at) ? at - now : undefined;
      },
      pollMs: POLL_MS,
      log: o.log,
    });
  }

  /** Starts working the queue. */
  start(): void {
    this.pump.start();
  }

  /** Looks at the queue now (new work, a retry request, changed settings). */
  wake(): void {
    this.pump.wake();
  }

  /** Lifts an app's outage pause (its settings changed). */
  unpause(app: string): void {
    this.paused.delete(app);
  }

  /** Uploads in progress. */
  get active(): number {
    return this.pump.active;
  }

  /** Interrupts running uploads (they are queued again, not counted as failures) and stops. */
  stop(): Promise<void> {
    return this.pump.stop();
  }

  private pausedApps(): string[] {
    const now = Date.now();
    return [...this.paused].filter(([, p]) => p.until > now).map(([app]) => app);
  }

  private async process(job: UploadJob, ac: AbortController): Promise<void> {
    const { file } = job;
    const log = this.o.log.child({ app: file.app, recordingId: file.recordingId, file: file.name, kind: file.kind });
    const renew = setInterval(() => {
      void this.o.queue.renew(file.id, this.o.nodeId, LEASE_MS).then(
        (held) => {
          if (!held && !ac.signal.aborted) {
            log.warn('lost the lease on an upload; stopping it');
            ac.abort();
          }
        },
        // A shared database may be briefly unreachable: the next renewal tries again, and `complete` checks the lease.
        (err: unknown) => log.warn({ err: errorMessage(err) }, 'could not renew the lease on an upload'),
      );
    }, LEASE_MS / 3);
    const state: AttemptState = {};
    let lastProgress = 0;
    const subject = (): UploadSubject => ({ app: file.app, recordingId: file.recordingId, streamId: job.recording.streamId, kind: file.kind, name: file.name, bucket: state.target?.bucket ?? '', key: state.key ?? '' });
    try {
      const completed = await runUploadJob(job, this.o, state, {
        signal: ac.signal,
        log,
        onProgress: (loaded, total) => {
          const now = Date.now();
          if (loaded < total && now - lastProgress < PROGRESS_EVERY_MS) return;
          lastProgress = now;
          log.debug({ loaded, total }, 'upload progress');
          void this.o.events.emit('upload.progress', { ...subject(), loaded, total });
        },
      });
      this.paused.delete(file.app);
      await this.o.events.emit('upload.completed', completed);
      if (file.kind === 'metadata') log.info({ bucket: completed.bucket, key: completed.key }, 'recording uploaded');
    } catch (err) {
      const e = classifyS3Error(err, state.target ? contextOf(state.target, 'upload', state.key) : { operation: 'upload', bucket: '(unresolved)', region: '(unresolved)' });
      // A retryable failure (outage, shutdown, lost lease) keeps the multipart upload: the next attempt resumes it.
      // A permanent one aborts it, bounded: against a stalled server the abort would hang too; the next attempt aborts it.
      if (e.failureClass === 'permanent' && !ac.signal.aborted) await abortAfterFailure(file.id, state, this.o, log, AbortSignal.timeout(ABORT_TIMEOUT_MS));
      if (this.pump.stopping && ac.signal.aborted) {
        await this.o.queue.release(file.id, this.o.nodeId);
        log.info('upload interrupted by shutdown; it starts again at next start');
        return;
      }
      await this.recordFailure(job, e, subject(), log, state);
    } finally {
      clearInterval(renew);
    }
  }

  private async recordFailure(job: UploadJob, e: StorageError, subject: UploadSubject, log: Logger, state: AttemptState): Promise<void> {
    const { file } = job;
    const attempts = file.attempts + 1;
    this.o.stats.add(e.failureClass, e.code);
    const error = { code: e.code, message: e.message };
    if (e.failureClass === 'retryable') {
      const delay = backoffMs(attempts, this.o.retryMaxDelayMs);
      await this.o.queue.retryLater(file.id, this.o.nodeId, Date.now() + delay, error);
      // A recording's own destination being down says nothing of the app's bucket.
      if (OUTAGE_ERRORS.has(e.code) && !state.destination) {
        const failures = (this.paused.get(file.app)?.failures ?? 0) + 1;
        this.paused.set(file.app, { failures, until: Date.now() + backoffMs(failures, this.o.retryMaxDelayMs) });
      }
      log.warn({ code: e.code, err: e.message, attempts, retryInMs: delay }, 'upload failed, will retry');
      await this.o.events.emit('upload.failed', { ...subject, errorClass: 'retryable', code: e.code, message: e.message, attempts, nextAttemptAt: new Date(Date.now() + delay).toISOString() });
      return;
    }
    await this.o.queue.fail(file.id, this.o.nodeId, error);
    const heldBack = TARGET_ERRORS.has(e.code) && !state.destination ? await this.o.queue.failQueued(file.app, error) : 0;
    log.error({ code: e.code, err: e.message, attempts, heldBack }, 'upload failed; the file is kept until the settings change or a retry is requested');
    await this.o.events.emit('upload.failed', { ...subject, errorClass: 'permanent', code: e.code, message: e.message, attempts });
  }
}
