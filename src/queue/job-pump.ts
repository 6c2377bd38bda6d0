/**
 * Works a leased queue (the upload queue, the webhook outbox): claims due
 * jobs while fewer than `concurrency` run, runs each with an AbortController
 * of its own, and looks again when one finishes, when woken, or when the
 * source says the next job falls due (at least every `pollMs`, for other
 * nodes' expired leases). Wakes that arrive while it is claiming are
 * coalesced into one more look. `stop` lets a claim in progress finish,
 * aborts every running job and waits for them.
 */
import type { Logger } from '../log/logger.js';
import { errorMessage } from '../errors.js';

export interface JobPumpOptions<J> {
  /** Jobs run at once (read at each look, so a settings change applies). */
  concurrency: () => number;
  /** Leases the next due job, if any. */
  claim: () => Promise<J | undefined>;
  /** Runs a claimed job to its end; `ac` aborts it (stop), and the job may abort it itself (a lost lease). */
  run: (job: J, ac: AbortController) => Promise<void>;
  /** Milliseconds until the next job falls due, when a slot is free (undefined: nothing due). */
  nextDueInMs: () => Promise<number | undefined>;
  /** Longest sleep between two looks. */
  pollMs: number;
  /** What the pump works, for its log lines ("upload queue", "webhook outbox"). */
  name: string;
  log: Logger;
}

export class JobPump<J> {
  private readonly inFlight = new Set<AbortController>();
  private readonly running = new Set<Promise<void>>();
  private timer?: NodeJS.Timeout;
  private pumping?: Promise<void>;
  private again = false;
  private stopped = true;

  constructor(private readonly o: JobPumpOptions<J>) {}

  /** Jobs running now. */
  get active(): number {
    return this.inFlight.size;
  }

  /** True before `start` and from `stop` on: running jobs use it to tell a shutdown from a failure. */
  get stopping(): boolean {
    return this.stopped;
  }

  /** Starts looking at the queue. */
  start(): void {
    this.stopped = false;
    this.wake();
  }

  /** Looks at the queue now (new work, a retry request, changed settings). */
  wake(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      // A wake that came in after the last look: look again.
      if (this.again) this.wake();
    });
  }

  /** Aborts running jobs and waits for them; claims nothing more. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    // A claim in progress finishes first, so every running job is aborted below.
    await this.pumping;
    for (const ac of this.inFlight) ac.abort();
    await Promise.allSettled([...this.running]);
  }

  private async pump(): Promise<void> {
    try {
      do {
        this.again = false;
        while (!this.stopped && this.inFlight.size < this.o.concurrency()) {
          const job = await this.o.claim();
          if (!job) break;
          const ac = new AbortController();
          if (this.stopped) ac.abort();
          this.inFlight.add(ac);
          const run: Promise<void> = this.o
            .run(job, ac)
            .catch((err) => this.o.log.error({ err: errorMessage(err) }, `${this.o.name} bookkeeping failed`))
            .finally(() => {
              this.inFlight.delete(ac);
              this.running.delete(run);
              this.wake();
            });
          this.running.add(run);
        }
      } while (this.again && !this.stopped);
      await this.schedule();
    } catch (err) {
      this.o.log.error({ err: errorMessage(err) }, `${this.o.name} failed; looking again shortly`);
      clearTimeout(this.timer);
      if (!this.stopped) this.timer = setTimeout(() => this.wake(), this.o.pollMs);
    }
  }

  private async schedule(): Promise<void> {
    clearTimeout(this.timer);
    if (this.stopped) return;
    let next = this.o.pollMs;
    if (this.inFlight.size < this.o.concurrency()) {
      const due = await this.o.nextDueInMs();
      if (due !== undefined) next = Math.min(next, due);
    }
    if (this.stopped) return;
    this.timer = setTimeout(() => this.wake(), Math.max(50, next));
  }
}
