/**
 * Runs bcrypt checks in worker threads (src/auth/password-worker.mjs), at most
 * `size` at once, so login traffic never holds the event loop that carries
 * media. Checks beyond that wait in a bounded queue; past it they are refused
 * (503 `login_busy`) instead of piling up. Workers are started on demand,
 * do not keep the process alive, and end after a minute without work.
 */
import { Worker } from 'node:worker_threads';
import { AppError } from '../errors.js';

const WORKER_URL = new URL('./password-worker.mjs', import.meta.url);
const IDLE_MS = 60_000;

type Job = { op: 'hash'; password: string; cost: number } | { op: 'compare'; password: string; hash: string };

interface Pending {
  job: Job;
  resolve(v: unknown): void;
  reject(e: Error): void;
}

interface Slot {
  worker: Worker;
  busy?: Pending & { id: number };
}

/** A small pool of bcrypt workers with a cap on concurrent and queued checks. */
export class PasswordPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private idleTimer?: NodeJS.Timeout;
  /** Checks and hashes run so far (tests, metrics). */
  completed = 0;

  constructor(
    /** Checks run at once (one worker each). */
    private size: number,
    /** Checks that may wait for a worker; more are refused. */
    private maxQueued: number,
  ) {}

  /** Changes the caps (the configured values, applied at start). */
  configure(size: number, maxQueued: number): void {
    this.size = size;
    this.maxQueued = maxQueued;
  }

  run<T>(job: Job): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const p: Pending = { job, resolve: resolve as (v: unknown) => void, reject };
      const free = this.freeSlot();
      if (free) return this.dispatch(free, p);
      if (this.queue.length >= this.maxQueued) return reject(new AppError('login_busy', 'too many password checks in progress; try again in a moment', 503));
      this.queue.push(p);
    });
  }

  /** Checks running or waiting now. */
  get load(): number {
    return this.slots.filter((s) => s.busy).length + this.queue.length;
  }

  /** Ends every worker (pending checks fail). */
  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    for (const p of this.queue.splice(0)) p.reject(new AppError('login_busy', 'shutting down', 503));
    await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate()));
  }

  private freeSlot(): Slot | undefined {
    const idle = this.slots.find((s) => !s.busy);
    if (idle) return idle;
    if (this.slots.length >= this.size) return undefined;
    const slot: Slot = { worker: new Worker(WORKER_URL) };
    slot.worker.unref();
    slot.worker.on('message', (m: { id: number; result?: unknown; error?: string }) => this.finish(slot, m));
    slot.worker.on('error', (err) => this.crash(slot, err));
    slot.worker.on('exit', () => this.crash(slot, new Error('password worker exited')));
    this.slots.push(slot);
    return slot;
  }

  private dispatch(slot: Slot, p: Pending): void {
    clearTimeout(this.idleTimer);
    const id = this.nextId++;
    slot.busy = { ...p, id };
    slot.worker.postMessage({ id, ...p.job });
  }

  private finish(slot: Slot, m: { id: number; result?: unknown; error?: string }): void {
    const p = slot.busy;
    if (!p || p.id !== m.id) return;
    slot.busy = undefined;
    this.completed++;
    if (m.error !== undefined) p.reject(new AppError('password_check_failed', m.error, 500));
    else p.resolve(m.result);
    this.next(slot);
  }

  private crash(slot: Slot, err: Error): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    slot.busy?.reject(new AppError('password_check_failed', err.message, 500));
    slot.busy = undefined;
    // A queued check gets a new worker.
    const p = this.queue.shift();
    const free = p && this.freeSlot();
    if (p && free) this.dispatch(free, p);
  }

  private next(slot: Slot): void {
    const p = this.queue.shift();
    if (p) return this.dispatch(slot, p);
    if (this.slots.every((s) => !s.busy)) {
      clearTimeout(this.idleTimer);
      this.idleTimer = setTimeout(() => void this.close(), IDLE_MS);
      this.idleTimer.unref();
    }
  }
}
