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

const LOST_CONNECTION = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN']);

/**
 * True for an error that says the shared database (PostgreSQL) cannot be
 * reached right now, rather than that a query was wrong: the connection was
 * refused, dropped or timed out, or the server is shutting down or starting
 * (SQLSTATE class 08, 57P01–57P03). The API answers these with 503
 * `database_unavailable`. Matches by shape only: SQLite mode never loads `pg`.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; message?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && (LOST_CONNECTION.has(e.code) || e.code.startsWith('08') || /^57P0[123]$/.test(e.code))) return true;
  // AggregateError (an address tried over IPv4 and IPv6) carries the causes.
  if (Array.isArray(e.errors) && e.errors.some(isDatabaseUnavailable)) return true;
  const m = typeof e.message === 'string' ? e.message : '';
  return /^Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection terminated unexpectedly/.test(m);
}
