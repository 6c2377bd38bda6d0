/** Failed upload attempts counted by class and code (a metrics endpoint exports them later). */
import type { FailureClass } from './errors.js';

export interface FailureCounts {
  retryable: number;
  permanent: number;
  /** By stable code, e.g. `unreachable`, `access_denied`. */
  byCode: Record<string, number>;
}

export class FailureStats {
  private readonly counts: FailureCounts = { retryable: 0, permanent: 0, byCode: {} };

  add(failureClass: FailureClass, code: string): void {
    this.counts[failureClass]++;
    this.counts.byCode[code] = (this.counts.byCode[code] ?? 0) + 1;
  }

  snapshot(): FailureCounts {
    return { retryable: this.counts.retryable, permanent: this.counts.permanent, byCode: { ...this.counts.byCode } };
  }
}
