/**
 * What the watchers of recordings in progress (part lists, live HLS playlists) share: one timer per period for all of
 * them, so their looks come due in the same event-loop wakeup, not each on its own (16 recordings with two watchers
 * each were ~110 wakeups a second with a timer apiece); and a file's stamp, so that a look costs one stat and the file
 * is read only when it changed.
 */
import { statSync } from 'node:fs';

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

/** The file's size and time as one comparable string; null when it is missing or cannot be looked at (looked at again next tick). */
export function fileStamp(file: string): string | null {
  try {
    const st = statSync(file, { throwIfNoEntry: false });
    return st ? `${st.size}:${st.mtimeMs}` : null;
  } catch {
    return null;
  }
}
