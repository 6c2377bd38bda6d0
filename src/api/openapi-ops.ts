/** Building blocks of the OpenAPI document (src/api/openapi.ts): the prose of operations with their auth and error responses, path parameters, tags. Bodies, query parameters and answers come from the routes' schemas (answers: src/api/answers.ts). */
import { z } from './schema.js';

/** A JSON Schema object as it goes into the document. */
export type Schema = Record<string, unknown>;

/** A zod schema as plain JSON Schema (no components), for the prose of a field a service checks itself (`checkedLater`). */
export function docOf(schema: z.ZodType): Schema {
  const out = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', reused: 'inline' }) as Schema;
  delete out.$schema;
  return out;
}

export const pathParam = (name: string, description: string) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });
export const APP = pathParam('name', 'application name');
export const STREAM = [pathParam('app', 'application name'), pathParam('streamId', 'stream id')];

export interface Op {
  summary: string;
  description?: string;
  tags: string[];
  parameters?: unknown[];
  responses: Record<string, unknown>;
  /** Unauthenticated (login, this document). */
  open?: boolean;
  /** State-changing with a session: X-CSRF-Token needed. */
  unsafe?: boolean;
}

/** An error answer: the `Error` component (ErrorAnswer in src/api/answers.ts). */
export const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });

export function op(o: Op) {
  const responses: Record<string, unknown> = { ...o.responses };
  if (!o.open) {
    responses['401'] ??= errorResponse('not authenticated (`unauthenticated`, `invalid_token`, `token_expired`, `session_expired`, `session_invalid`)');
    if (o.unsafe) responses['403'] ??= errorResponse('`csrf_failed` (session without X-CSRF-Token) or `origin_mismatch`');
  }
  return {
    summary: o.summary,
    ...(o.description ? { description: o.description } : {}),
    tags: o.tags,
    ...(o.parameters ? { parameters: o.parameters } : {}),
    responses,
    ...(o.open ? { security: [] } : {}),
  };
}

/** A success answer's description (its body is the route's schema). */
export const ok = (description: string) => ({ description });
export const E = {
  e400: errorResponse('a request that cannot be read: malformed JSON (`invalid_json`), a bad query parameter (`invalid_parameter`)'),
  e404: errorResponse('no such resource'),
  e409: errorResponse('conflicts with the current state (the code says which)'),
  e415: errorResponse('wrong Content-Type (`unsupported_media_type`)'),
  e422: errorResponse('fields that do not validate (`validation_failed`; `details` names each field); nothing was changed'),
  e503db: errorResponse('`database_unavailable` (with `Retry-After: 5`): the shared database cannot be reached; live streams keep recording'),
};

/** Tags, one per group of routes. */
export const T = { auth: ['auth'], apps: ['applications'], pub: ['publish security'], streams: ['streams'], recs: ['recordings'], creds: ['credentials'], hooks: ['webhooks'], srv: ['server'], sources: ['sources'] };
