/** Retry delays of the leased queues (uploads, webhook deliveries). */

/** First retry delay; doubled per attempt up to the cap. */
const BASE_DELAY_MS = 1_000;

/** Backoff with "equal jitter": half the exponential delay, plus a random part of the other half. */
export function backoffMs(attempt: number, maxMs: number): number {
  const d = Math.min(maxMs, BASE_DELAY_MS * 2 ** Math.min(attempt - 1, 30));
  return Math.round(d / 2 + (Math.random() * d) / 2);
}
