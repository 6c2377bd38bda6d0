/**
 * Paces the socket reads of publishing RTMP connections.
 *
 * Profiled (`bench:ingest`, N=16, 3 Mbit/s pushes): node read each publisher's socket ~65 times a second (one read per
 * burst of TCP segments), and each read woke the event loop, ran the stream machinery and the chunk parser for a
 * few KiB. A publishing connection reads its socket once per tick instead: after a short read it stops until the next
 * tick, while the kernel gathers what arrives meanwhile, so one read brings a tick's worth of media. One timer serves
 * every connection (their reads come due together: one event-loop wakeup for all of them). A read that comes back
 * full (a publisher sending faster than a read a tick: a high bitrate, a file pushed without `-re`) is followed by
 * the next read at once, so pacing never holds a publisher below its rate; only a recorder that falls behind does
 * (the feed's hold).
 */

/**
 * Milliseconds between a publishing connection's reads: ~7 reads a second, the feed's write rate to its recorders, far
 * under their 0.5 s fragments. 100 → 150 ms took node from 5.1–5.2 % to 4.5–5.5 % (mean 4.9) of a core at N=16
 * (bench:ingest, alternating runs); 200 ms read no better within the noise, and at 6 Mbit/s a tick's 150 KB would
 * pass the kernel's first 128 KiB receive buffer (a full read is followed at once, but the window would close).
 */
export const READ_EVERY_MS = 150;
/**
 * Milliseconds before the next read of a connection whose publisher fell behind real time waiting for our reads
 * (publisher-lag.ts): it is read this often, each read taking what its receive window holds, until it has caught up.
 */
export const READ_SOON_MS = 25;

/** One timer for every read due after the same delay. */
class Tick {
  private due = new Set<() => void>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly ms: number) {}

  add(read: () => void): void {
    this.due.add(read);
    if (this.timer) return;
    this.timer = setTimeout(this.run, this.ms);
    this.timer.unref();
  }

  delete(read: () => void): void {
    this.due.delete(read);
  }

  private readonly run = (): void => {
    this.timer = undefined;
    const due = this.due;
    this.due = new Set();
    for (const read of due) read();
  };
}

export class ReadPacer {
  private readonly normal: Tick;
  private readonly backlog: Tick;

  constructor(everyMs = READ_EVERY_MS, soonMs = READ_SOON_MS) {
    this.normal = new Tick(everyMs);
    this.backlog = new Tick(soonMs);
  }

  /** Calls `read` at the next tick (once, however often it is asked for before then). */
  later(read: () => void): void {
    this.normal.add(read);
  }

  /** Calls `read` after READ_SOON_MS: its publisher is behind (publisher-lag.ts). */
  soon(read: () => void): void {
    this.backlog.add(read);
  }

  /** Forgets a pending read (a connection that closed). */
  cancel(read: () => void): void {
    this.normal.delete(read);
    this.backlog.delete(read);
  }
}
