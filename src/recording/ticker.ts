/**
 * One timer per period for every watcher of every recording in progress (part lists, live HLS playlists): their
 * looks come due in the same event-loop wakeup, not each on its own (16 recordings with two watchers each were ~110
 * wakeups a second with a timer apiece).
 */
import { statSync, type Stats } from 'node:fs';

const tickers = new Map<number, { timer: NodeJS.Timeout; calls: Set<() => void> }>();

/** Calls `fn` every `ms` milliseconds until the returned function is called. */
export function every(ms: number, fn: () => void): () => void {
  let t = tickers.get(ms);
  if (!t) {
    const calls = new Set<() => void>();
    const timer = setInterval(() => {
      for (const call of calls) call();
    }, ms);
    timer.unref();
    t = { timer, calls };
    tickers.set(ms, t);
  }
  const call = (): void => fn();
  t.calls.add(call);
  const ticker = t;
  return () => {
    ticker.calls.delete(call);
    if (ticker.calls.size === 0 && tickers.get(ms) === ticker) {
      clearInterval(ticker.timer);
      tickers.delete(ms);
    }
  };
}

/** The file's stat, or null when it is missing or cannot be looked at (a watcher looks again at its next tick). */
export function statOrNull(file: string): Stats | null {
  try {
    return statSync(file, { throwIfNoEntry: false }) ?? null;
  } catch {
    return null;
  }
}
