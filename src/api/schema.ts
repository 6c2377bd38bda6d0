/**
 * Route schemas (zod): each route declares its body, its query parameters and
 * its answers once; the same schema checks the request and is written into the
 * OpenAPI document (src/api/openapi.ts). The builders here give the API's
 * field messages (`required`, `must be a string`, `must be at most 64
 * characters`, `must be a whole number from 1 to 3650`, `unknown field`), and
 * `checkBody` / `checkQuery` turn zod's issues into the API's errors: a 422
 * `validation_failed` whose `details` name each field (`output.credential`,
 * `webhooks[0].secret`), or a 400 `invalid_parameter` naming the parameter.
 */
import { z } from 'zod';
import { AppError, ValidationError, type FieldProblem } from '../errors.js';

export { z };

/** A JSON Schema object as it goes into the document. */
export type JsonSchema = Record<string, unknown>;

/** An ISO 8601 date-time in an answer (documented as `format: date-time`). */
export const isoDateTime = (description?: string) => (description ? z.string().meta({ format: 'date-time', description }) : z.string().meta({ format: 'date-time' }));

/** A string field; `''` counts as absent (a required one is then `required`). */
export function text(opts: { min?: number; max?: number; description?: string } = {}) {
  let s = z.string({ error: (iss) => (iss.input === undefined ? 'required' : 'must be a string') });
  if (opts.min !== undefined) s = s.min(opts.min, `must be at least ${opts.min} characters`);
  if (opts.max !== undefined) s = s.max(opts.max, `must be at most ${opts.max} characters`);
  return opts.description ? s.describe(opts.description) : s;
}

/** A required string field: `''` is `required` too. */
export function requiredText(opts: { max?: number; description?: string } = {}) {
  let s = z.string({ error: (iss) => (iss.input === undefined ? 'required' : 'must be a string') }).min(1, 'required');
  if (opts.max !== undefined) s = s.max(opts.max, `must be at most ${opts.max} characters`);
  return opts.description ? s.describe(opts.description) : s;
}

/** A whole number from `min` to `max` (one message for every way to miss). */
export function wholeNumber(min: number, max?: number, description?: string) {
  const message = max === undefined ? `must be a whole number from ${min}` : `must be a whole number from ${min} to ${max}`;
  let s = z.int({ error: message }).min(min, message);
  if (max !== undefined) s = s.max(max, message);
  return description ? s.describe(description) : s;
}

/**
 * A field the service behind the route checks itself (its limits depend on
 * the app's settings): any value passes here, the document shows `doc`.
 */
export function checkedLater(doc: JsonSchema, opts: { required?: boolean } = {}) {
  return z.unknown().optional().meta(opts.required ? { ...doc, [REQUIRED]: true } : doc);
}

/** Marks a `checkedLater` field the document lists as required (its service says `required`). */
const REQUIRED = 'x-checked-later-required';

/** An object body that refuses fields it does not name (`unknown field`, or `unknownMessage`). */
export function body<S extends z.ZodRawShape>(shape: S, unknownMessage = 'unknown field') {
  return z.strictObject(shape, { error: (iss) => (iss.code === 'unrecognized_keys' ? unknownMessage : undefined) });
}

/** Dotted path of a zod issue path: `output.credential`, `webhooks[0].secret`. */
export function pathOf(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), '');
}

/** zod's issues as the API's field problems: unknown fields first (one per field), then the others in order, each (path, message) once. */
export function problemsOf(issues: ReadonlyArray<z.core.$ZodIssue>): FieldProblem[] {
  const unknown: FieldProblem[] = [];
  const others: FieldProblem[] = [];
  for (const iss of issues) {
    if (iss.code === 'unrecognized_keys') {
      const message = iss.message.startsWith('Unrecognized key') ? 'unknown field' : iss.message;
      for (const k of iss.keys) unknown.push({ path: pathOf([...iss.path, k]), message });
    } else {
      others.push({ path: pathOf(iss.path), message: iss.message });
    }
  }
  const seen = new Set<string>();
  return [...unknown, ...others].filter((p) => {
    const key = `${p.path}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Checks a parsed body against a schema: a JSON object (`the body must be a
 * JSON object` otherwise; an absent body is `{}` when `optional`), its
 * `aliases` (e.g. Twilio's `FriendlyName`) read as the names they stand for.
 * Throws a 422 naming every field.
 */
export function checkBody<T>(schema: z.ZodType<T>, raw: unknown, opts: { optional?: boolean; aliases?: Record<string, string> } = {}): T {
  let b = raw;
  if (b === undefined && opts.optional) b = {};
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new ValidationError([{ path: '', message: 'the body must be a JSON object' }]);
  if (opts.aliases) {
    const src = b as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(src)) {
      const to = opts.aliases[k];
      if (to === undefined) Object.defineProperty(out, k, { value: src[k], enumerable: true, writable: true, configurable: true });
      else if (src[to] === undefined) out[to] = src[k];
    }
    b = out;
  }
  const r = schema.safeParse(b);
  if (!r.success) throw new ValidationError(problemsOf(r.error.issues));
  return r.data;
}

/** Query parameter builders: each takes the raw string (`''` as absent) and answers a 400 naming the parameter. */
export const q = {
  string: (description?: string) => withDescription(z.string().optional(), description),
  /** A whole number from `min` to `max`, `fallback` when absent. */
  int<F extends number | undefined>(min: number, max: number, fallback: F, description?: string) {
    const message = `must be a whole number from ${min} to ${max}`;
    const n = z.int({ error: message }).min(min, message).max(max, message);
    const inner = (fallback === undefined ? n.optional() : n.default(fallback)) as F extends number ? z.ZodDefault<typeof n> : z.ZodOptional<typeof n>;
    const s = z.preprocess((v) => (v === '' || v === undefined ? undefined : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v), inner);
    return withDescription(s, description);
  },
  oneOf<T extends string>(values: readonly [T, ...T[]], description?: string) {
    const s = z.preprocess((v) => (v === '' ? undefined : v), z.enum(values, { error: `must be one of ${values.join(', ')}` }).optional());
    return withDescription(s, description);
  },
  /** A date (2026-01-31) or a date and time with a zone, answered as an ISO string. */
  date(description?: string) {
    const message = 'must be an ISO 8601 date (2026-01-31) or date-time with a zone (2026-01-31T12:00:00Z)';
    const re = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/;
    const s = z.preprocess(
      (v) => (v === '' ? undefined : typeof v === 'string' && re.test(v) && !Number.isNaN(Date.parse(v)) ? new Date(v).toISOString() : v === undefined ? undefined : `\u0000${String(v)}`),
      z.string().regex(/^\d{4}-\d{2}-\d{2}T/, message).meta({ format: 'date-time' }).optional(),
    );
    return withDescription(s, description);
  },
  bool(description?: string) {
    const s = z.preprocess((v) => (v === undefined || v === '' || v === 'false' || v === '0' ? false : v === 'true' || v === '1' ? true : v), z.boolean({ error: 'must be true or false' }).default(false));
    return withDescription(s, description);
  },
};

function withDescription<T extends z.ZodType>(s: T, description?: string): T {
  return description ? (s.describe(description) as T) : s;
}

/** Reads the query parameters a schema names (others are ignored); a parameter given twice or invalid is a 400. */
export function checkQuery<T>(schema: z.ZodType<T> & { shape: Record<string, z.ZodType> }, query: Record<string, unknown>): T {
  const picked: Record<string, unknown> = {};
  for (const name of Object.keys(schema.shape)) {
    const v = query[name];
    if (v !== undefined && typeof v !== 'string') throw badParameter(name, 'must be given once');
    picked[name] = v;
  }
  const r = schema.safeParse(picked);
  if (!r.success) {
    const iss = r.error.issues[0];
    throw badParameter(pathOf(iss.path), iss.message);
  }
  return r.data as T;
}

export function badParameter(name: string, message: string): AppError {
  return new AppError('invalid_parameter', `query parameter ${name}: ${message}`, 400);
}

/**
 * A schema as JSON Schema for the document: bodies and answers as they are
 * sent (`io: input`), query parameters as they are read (`output`: the
 * integer, its bounds and its default). A schema with a `meta({ id })` is a
 * component: it goes into `components` once and is referred to by `$ref`.
 */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output', components: Record<string, JsonSchema>): JsonSchema {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any', reused: 'inline' }) as JsonSchema & { $defs?: Record<string, JsonSchema> };
  delete out.$schema;
  const defs = out.$defs ?? {};
  delete out.$defs;
  const refs = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(refs);
    if (v === null || typeof v !== 'object') return v;
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== REQUIRED && !((k === 'minimum' || k === 'maximum') && Math.abs(x as number) === Number.MAX_SAFE_INTEGER)) o[k] = k === '$ref' && typeof x === 'string' ? x.replace('#/$defs/', '#/components/schemas/') : refs(x);
    const props = (v as { properties?: Record<string, Record<string, unknown>> }).properties;
    if (props && typeof props === 'object') {
      const later = Object.keys(props).filter((k) => props[k]?.[REQUIRED] === true);
      if (later.length) o.required = [...new Set([...((o.required as string[] | undefined) ?? []), ...later])];
    }
    return o;
  };
  for (const [id, def] of Object.entries(defs)) {
    const d = refs(def) as JsonSchema;
    if (components[id] !== undefined && JSON.stringify(components[id]) !== JSON.stringify(d)) throw new Error(`two different schemas are called ${id}`);
    components[id] = d;
  }
  // The root itself a component: a reference to it.
  const id = (z.globalRegistry.get(schema) as { id?: string } | undefined)?.id;
  if (id && !('$ref' in out)) {
    const d = refs(out) as JsonSchema;
    if (components[id] !== undefined && JSON.stringify(components[id]) !== JSON.stringify(d)) throw new Error(`two different schemas are called ${id}`);
    components[id] = d;
    return { $ref: `#/components/schemas/${id}` };
  }
  return refs(out) as JsonSchema;
}
