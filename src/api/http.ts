/**
 * What every API route shares: the route declaration (`route({ method, path,
 * body, query, responses, handler })`: each resource file declares its routes
 * with zod schemas that check the request and make the OpenAPI document),
 * body parsing, and the error answer `{error: {code, message, details?}}`.
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
import { checkBody, checkQuery, pathOf, type z } from './schema.js';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** What a handler reads its input through: checked where it asks (after its own 404s, as before). */
export interface RouteInput<B, Q> {
  /** The body, checked by the route's schema (or `schema`, the route's narrowed by the app's settings). */
  body(schema?: z.ZodType<B>): B;
  /** The body as an object, for a service that checks it with the same schema itself (the app settings). */
  rawBody(): Record<string, unknown>;
  /** The query parameters the route's schema names. */
  query(): Q;
}

/** One route, schema first: its body, query parameters and answers are declared once, checked here and written into the OpenAPI document. */
export interface RouteSpec<B = unknown, Q = unknown> {
  method: Method;
  /** Express path relative to `/api/v1`, e.g. `/applications/:name`. */
  path: string;
  /** The request body (JSON); the document shows it as it is taken (`io: input`). */
  body?: z.ZodType<B>;
  /** An absent body reads as `{}`. */
  optionalBody?: boolean;
  /** Also `application/x-www-form-urlencoded` (Twilio's encoding). */
  form?: boolean;
  /** Other names a field is accepted under (`FriendlyName` → `friendlyName`). */
  aliases?: Record<string, string>;
  /** Query parameters. */
  query?: z.ZodType<Q> & { shape: Record<string, z.ZodType> };
  /** Each answer's status and body: a zod schema (src/api/answers.ts), or null for none. */
  responses: Record<number, z.ZodType | null>;
  /** Run first (authentication, Origin checks). */
  before?: RequestHandler[];
  /** Answers: its return value is sent as JSON (with the status it set), or it answers itself. */
  handler: (req: Request, res: Response, input: RouteInput<B, Q>) => unknown;
}

/** One route of the API as mounted. */
export interface Route {
  method: Method;
  path: string;
  handlers: RequestHandler[];
  /** Its declaration (the OpenAPI document is built from it). */
  spec: RouteSpec<any, any>;
}

/** A route from its declaration. */
export function route<B = unknown, Q = unknown>(spec: RouteSpec<B, Q>): Route {
  // Read when the route is made: without it, answers go out unchecked (no cost).
  const checkAnswers = process.env.BUCKETCAST_CHECK_ANSWERS === '1';
  const parser = spec.body ? [spec.form ? jsonOrFormBody : jsonBody] : [];
  const run: RequestHandler = async (req, res) => {
    const input: RouteInput<B, Q> = {
      body: (schema) => {
        if (!spec.body && !schema) throw new Error(`${spec.method} ${spec.path} declares no body`);
        return checkBody((schema ?? spec.body)!, req.body, { optional: spec.optionalBody, aliases: spec.aliases });
      },
      rawBody: () => bodyObject(req, spec.optionalBody),
      query: () => (spec.query ? checkQuery(spec.query, req.query as Record<string, unknown>) : ({} as Q)),
    };
    const out = await spec.handler(req, res, input);
    if (out === undefined || res.headersSent) return;
    if (checkAnswers) checkAnswer(spec, res.statusCode, out);
    res.json(out);
  };
  return { method: spec.method, path: spec.path, handlers: [...(spec.before ?? []), ...parser, run], spec };
}

/** An answer that does not match the schema its route declares for its status (`BUCKETCAST_CHECK_ANSWERS=1`). */
export class AnswerMismatch extends AppError {
  constructor(
    readonly route: string,
    readonly answerStatus: number,
    /** zod's issues without the answer's values: path, code and message. */
    readonly issues: Array<{ path: string; code: string; message: string }>,
  ) {
    super('answer_schema_mismatch', `the answer of ${route} does not match its declared schema`, 500);
  }
}

/** Checks an answer as it goes on the wire (JSON) against the route's schema for `status`; throws `AnswerMismatch`. */
function checkAnswer(spec: RouteSpec<any, any>, status: number, out: unknown): void {
  const name = `${spec.method.toUpperCase()} ${spec.path}`;
  const schema = spec.responses[status];
  if (schema === undefined) throw new AnswerMismatch(name, status, [{ path: '', code: 'undeclared_status', message: `no answer is declared for status ${status}` }]);
  if (schema === null) throw new AnswerMismatch(name, status, [{ path: '', code: 'unexpected_body', message: `status ${status} is declared without a body` }]);
  const r = schema.safeParse(JSON.parse(JSON.stringify(out)));
  if (!r.success) throw new AnswerMismatch(name, status, r.error.issues.map((i) => ({ path: pathOf(i.path), code: i.code, message: i.message })));
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
    // Never the answer itself: it may hold a secret.
    if (err instanceof AnswerMismatch) log.error({ route: err.route, status: err.answerStatus, issues: err.issues }, 'answer does not match its declared schema');
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
