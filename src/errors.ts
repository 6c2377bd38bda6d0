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

/** One invalid field of a request or settings object. */
export interface FieldProblem {
  /** Dotted path of the field, e.g. `s3.bucket` or `webhooks[0].secret` ('' for the whole object). */
  path: string;
  message: string;
}

/** Input that failed validation (HTTP 422): the message names every field, `details` lists them. */
export class ValidationError extends AppError {
  readonly details: FieldProblem[];

  constructor(details: FieldProblem[], code = 'validation_failed') {
    super(code, details.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)).join('; '), 422);
    this.details = details;
  }
}
