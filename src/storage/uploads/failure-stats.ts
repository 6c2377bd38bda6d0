/** Failed upload attempts counted by class and code (a metrics endpoint exports them later). */
import type { FailureClass } from '../targets/errors.js';

export interface FailureCounts {
  retryable: number;
  permanent: number;
  /** By stable code, e.g. `unreachable`, `access_denied`. */
  byCode: Record<string, number>;
  /** By class and code (metrics labels). */
  byClassAndCode: Array<{ failureClass: FailureClass; code: string; count: number }>;
}

export class FailureStats {
  private readonly counts = { retryable: 0, permanent: 0, byCode: {} as Record<string, number> };
  private readonly pairs = new Map<string, { failureClass: FailureClass; code: string; count: number }>();

  add(failureClass: FailureClass, code: string): void {
    this.counts[failureClass]++;
    this.counts.byCode[code] = (this.counts.byCode[code] ?? 0) + 1;
    const k = `${failureClass}:${code}`;
    const p = this.pairs.get(k) ?? { failureClass, code, count: 0 };
    p.count++;
    this.pairs.set(k, p);
  }

  snapshot(): FailureCounts {
    return {
      retryable: this.counts.retryable,
      permanent: this.counts.permanent,
      byCode: { ...this.counts.byCode },
      byClassAndCode: [...this.pairs.values()].map((p) => ({ ...p })),
    };
  }
}
