/**
 * What every API route shares: the route table (each resource file declares
 * its routes; the OpenAPI test checks each one is documented), body and query
 * parsing with errors that name the field, and the error answer
 * `{error: {code, message, details?}}`.
 *
 * Status codes: 400 a request that cannot be read (malformed JSON, a bad
 * query parameter); 401 not authenticated; 403 not allowed (CSRF, wrong
 * current password, the bucket refused); 404 no such thing; 409 conflicts with
 * the current state; 413 body too large; 415 wrong Content-Type; 422 a body
 * whose fields do not validate (`details` lists each field); 429 login
 * locked out (`Retry-After`); 5xx the server or the bucket failed; 503
 * `database_unavailable` (`Retry-After: 5`) while the shared database cannot
 * be reached (PostgreSQL lost: ingest and recording go on, the API waits).
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response, Router } from 'express';
import type { Logger } from '../log/logger.js';
import { AppError, ValidationError, isDatabaseUnavailable, type FieldProblem } from '../errors.js';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** One route of the API, relative to `/api/v1`. */
export interface Route {
  method: Method;
  /** Express path, e.g. `/applications/:name`. */
  path: string;
  handlers: RequestHandler[];
}

/** A route whose handler may be async and returns the answer (sent as JSON with `status`) or nothing (it answered itself). */
export function route(method: Method, path: string, ...handlers: Array<(req: Request, res: Response, next: NextFunction) => unknown>): Route {
  const wrapped = handlers.map(
    (h): RequestHandler =>
      async (req, res, next) => {
        const out = await h(req, res, next);
        if (out !== undefined && !res.headersSent) res.json(out);
      },
  );
  return { method, path, handlers: wrapped };
}

/** Mounts routes on a router. */
export function mount(router: Router, routes: Route[]): void {
  for (const r of routes) router[r.method](r.path, ...r.handlers);
}

const JSON_LIMIT = '256kb';
const jsonParser = express.json({ limit: JSON_LIMIT, strict: false });
const formParser = express.urlencoded({ limit: JSON_LIMIT, extended: false });

/** Parses a JSON body (415 for another Content-Type when there is a body; an absent body is `undefined`). */
export const jsonBody: RequestHandler = (req, res, next) => {
  if (!hasBody(req)) return next();
  if (!req.is('application/json')) return next(new AppError('unsupported_media_type', `send the body as Content-Type: application/json (got ${req.get('content-type') ?? 'none'})`, 415));
  jsonParser(req, res, next);
};

/** Parses a JSON or `application/x-www-form-urlencoded` body (Twilio's encoding). */
export const jsonOrFormBody: RequestHandler = (req, res, next) => {
  if (!hasBody(req)) return next();
  if (req.is('application/x-www-form-urlencoded')) return formParser(req, res, next);
  return jsonBody(req, res, next);
};

function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/** The body as an object (422 otherwise); an absent body is `{}` when `optional`. */
export function bodyObject(req: Request, optional = false): Record<string, unknown> {
  const b: unknown = req.body;
  if (b === undefined && optional) return {};
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new ValidationError([{ path: '', message: 'the body must be a JSON object' }]);
  return b as Record<string, unknown>;
}

/** Collects field problems and throws them together. */
export class Fields {
  readonly problems: FieldProblem[] = [];

  constructor(private readonly source: Record<string, unknown>) {}

  /** A string field (trimmed when `trim`), within length bounds. */
  string(name: string, opts: { required?: boolean; min?: number; max?: number; aliases?: string[] } = {}): string | undefined {
    const key = [name, ...(opts.aliases ?? [])].find((k) => this.source[k] !== undefined);
    const v = key === undefined ? undefined : this.source[key];
    if (v === undefined || v === '') {
      if (opts.required) this.problems.push({ path: name, message: 'required' });
      return v === '' && !opts.required ? '' : undefined;
    }
    if (typeof v !== 'string') {
      this.problems.push({ path: name, message: 'must be a string' });
      return undefined;
    }
    if (opts.min !== undefined && v.length < opts.min) this.problems.push({ path: name, message: `must be at least ${opts.min} characters` });
    if (opts.max !== undefined && v.length > opts.max) this.problems.push({ path: name, message: `must be at most ${opts.max} characters` });
    return v;
  }

  /** A whole number field within bounds. */
  int(name: string, opts: { min: number; max: number; required?: boolean }): number | undefined {
    const v = this.source[name];
    if (v === undefined) {
      if (opts.required) this.problems.push({ path: name, message: 'required' });
      return undefined;
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < opts.min || v > opts.max) {
      this.problems.push({ path: name, message: `must be a whole number from ${opts.min} to ${opts.max}` });
      return undefined;
    }
    return v;
  }

  /** Refuses fields other than `allowed`. */
  only(...allowed: string[]): this {
    for (const k of Object.keys(this.source)) if (!allowed.includes(k)) this.problems.push({ path: k, message: 'unknown field' });
    return this;
  }

  /** Throws a 422 naming every problem, if any. */
  check(): void {
    if (this.problems.length) throw new ValidationError(this.problems);
  }
}

/** Query parameters, each problem a 400 naming the parameter. */
export const query = {
  string(req: Request, name: string): string | undefined {
    const v = req.query[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw badParameter(name, 'must be given once');
    return v;
  },
  int(req: Request, name: string, min: number, max: number, fallback: number): number {
    const v = query.string(req, name);
    if (v === undefined || v === '') return fallback;
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw badParameter(name, `must be a whole number from ${min} to ${max}`);
    return Number(v);
  },
  oneOf<T extends string>(req: Request, name: string, values: readonly T[]): T | undefined {
    const v = query.string(req, name);
    if (v === undefined || v === '') return undefined;
    if (!(values as readonly string[]).includes(v)) throw badParameter(name, `must be one of ${values.join(', ')}`);
    return v as T;
  },
  date(req: Request, name: string): string | undefined {
    const v = query.string(req, name);
    if (v === undefined || v === '') return undefined;
    // A date (2026-01-31) or a date and time with a zone (2026-01-31T12:00:00Z).
    if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(v) || Number.isNaN(Date.parse(v))) {
      throw badParameter(name, 'must be an ISO 8601 date (2026-01-31) or date-time with a zone (2026-01-31T12:00:00Z)');
    }
    return new Date(v).toISOString();
  },
  bool(req: Request, name: string): boolean {
    const v = query.string(req, name);
    if (v === undefined || v === '' || v === 'false' || v === '0') return false;
    if (v === 'true' || v === '1') return true;
    throw badParameter(name, 'must be true or false');
  },
};

function badParameter(name: string, message: string): AppError {
  return new AppError('invalid_parameter', `query parameter ${name}: ${message}`, 400);
}

/** The API's error answer; 5xx errors that are not ours are logged and hidden. */
export function apiErrorHandler(log: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    if (isDatabaseUnavailable(err)) {
      log.warn({ err: (err as Error)?.message, method: req.method, path: req.path }, 'api request refused: the database is unavailable');
      if (res.headersSent) return void res.end();
      res.setHeader('Retry-After', '5');
      res.status(503).json({ error: { code: 'database_unavailable', message: 'the database cannot be reached right now; live streams keep recording, try again shortly' } });
      return;
    }
    const e = toAppError(err);
    if (e.status >= 500 && !(err instanceof AppError)) log.error({ err: (err as Error)?.message, method: req.method, path: req.path }, 'api request failed');
    if (res.headersSent) return void res.end();
    const retryAfter = (err as { retryAfterSeconds?: unknown }).retryAfterSeconds;
    if (typeof retryAfter === 'number') res.setHeader('Retry-After', String(retryAfter));
    const body: { code: string; message: string; details?: FieldProblem[] } = { code: e.code, message: e.message };
    if (err instanceof ValidationError) body.details = err.details;
    res.status(e.status).json({ error: body });
  };
}

function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const type = (err as { type?: string })?.type;
  // Not the parser's message: it quotes the body, which may hold a secret.
  if (type === 'entity.parse.failed') return new AppError('invalid_json', 'the body is not valid JSON', 400);
  if (type === 'entity.too.large') return new AppError('body_too_large', `the body is larger than ${JSON_LIMIT}`, 413);
  const status = (err as { status?: unknown })?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) return new AppError('bad_request', (err as Error).message, status);
  return new AppError('internal', 'internal error', 500);
}

/** Path parameter as a string. */
export function param(req: Request, name: string): string {
  return String(req.params[name]);
}
