/**
 * Event-loop delay of the server process (perf_hooks' histogram), shown in
 * `/healthz` so a soak run or a monitor can see the loop stay responsive.
 * Each read reports the window since the previous read and starts a new one.
 * The histogram records the time between two of its timer callbacks, so an
 * idle loop reads the sampling resolution itself; that is subtracted, and the
 * figures are how late the loop was.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** Delay figures of one window, in milliseconds. */
export interface LoopDelay {
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Seconds the window covered. */
  windowSeconds: number;
}

/**
 * Sampling interval of the histogram, in milliseconds: each sample is a timer that wakes the process, so an idle
 * server's wakeups are 1000 / this a second (20 ms and prom-client's own 10 ms were 150 of its ~260 a second).
 * A block is read up to this much short.
 */
const RESOLUTION_MS = 50;

export class EventLoopMonitor {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  private since = Date.now();

  start(): void {
    this.histogram.enable();
  }

  stop(): void {
    this.histogram.disable();
  }

  /** The process's memory in MiB: resident, V8 heap in use, and buffers outside it. */
  memory(): { rssMiB: number; heapUsedMiB: number; externalMiB: number; arrayBuffersMiB: number } {
    const m = process.memoryUsage();
    const mib = (n: number) => Math.round((n / 1048576) * 10) / 10;
    return { rssMiB: mib(m.rss), heapUsedMiB: mib(m.heapUsed), externalMiB: mib(m.external), arrayBuffersMiB: mib(m.arrayBuffers) };
  }

  /** The figures since the last read; the next window starts now. */
  read(): LoopDelay {
    const h = this.histogram;
    const ms = (ns: number) => (Number.isFinite(ns) && h.count > 0 ? Math.max(0, Math.round(ns / 1e4) / 100 - RESOLUTION_MS) : 0);
    const out = { meanMs: ms(h.mean), p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max), windowSeconds: Math.round((Date.now() - this.since) / 100) / 10 };
    h.reset();
    this.since = Date.now();
    return out;
  }
}
