/**
 * Errors that cross a module boundary carry a stable code and the HTTP status
 * an API would answer with, so callers never parse messages.
 */
export class AppError extends Error {
  /** Stable machine-readable code, e.g. `config_invalid`, `stream_busy`. */
  readonly code: string;
  /** HTTP status an API answers with for this error. */
  readonly status: number;

  constructor(code: string, message: string, status = 500, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AppError';
    this.code = code;
    this.status = status;
  }
}

/** The message of anything thrown, for logs. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
