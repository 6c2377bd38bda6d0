/**
 * The OpenAPI 3.1 description of the admin API, served at
 * `/api/v1/openapi.json` and written to docs/openapi.json
 * (`npm run docs:openapi`). Built from the route table: each route's request
 * body, query parameters and answers come from the zod schemas it declares
 * (the schemas that check its requests), so the document cannot drift from
 * what the API takes; the prose (summary, description, tags, error answers)
 * comes from openapi-paths-*.ts. A route without prose, or prose without a
 * route, throws.
 */
import type { Route } from './http.js';
import { jsonSchemaOf, type JsonSchema } from './schema.js';
import { ErrorAnswer } from './answers.js';
import { T } from './openapi-ops.js';
import { adminPaths } from './openapi-paths-admin.js';
import { mediaPaths } from './openapi-paths-media.js';
import { sourcePaths } from './openapi-paths-sources.js';
import { destinationPaths } from './openapi-paths-destinations.js';

type Operation = { parameters?: unknown[]; requestBody?: unknown; responses: Record<string, { description: string; content?: unknown }> } & Record<string, unknown>;

/** `/applications/:name` → `{name}` form. */
export const openApiPath = (p: string) => p.replace(/:(\w+)/g, '{$1}');

/** The whole document, for the routes of `/api/v1` (`api`) and those at the root (`/metrics`). */
export function openApiDocument(routes: { api: Route[]; root?: Route[] }) {
  const prose: Record<string, Record<string, Operation>> = {};
  for (const part of [adminPaths(), mediaPaths(), sourcePaths(), destinationPaths()]) {
    for (const [p, ops] of Object.entries(part)) prose[p] = { ...prose[p], ...(ops as Record<string, Operation>) };
  }
  const components: Record<string, JsonSchema> = {};
  // The error answer every operation's prose refers to.
  jsonSchemaOf(ErrorAnswer, 'input', components);
  const paths: Record<string, Record<string, unknown>> = {};
  const all = [...routes.api.map((r) => ({ r, path: `/api/v1${openApiPath(r.path)}` })), ...(routes.root ?? []).map((r) => ({ r, path: openApiPath(r.path) }))];
  for (const { r, path } of all) {
    const text = prose[path]?.[r.method];
    if (!text) throw new Error(`${r.method.toUpperCase()} ${path} has no summary in openapi-paths-*.ts`);
    delete prose[path][r.method];
    paths[path] = { ...paths[path], [r.method]: operation(r, text, components) };
  }
  const left = Object.entries(prose).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
  if (left.length) throw new Error(`described but not routed: ${left.join(', ')}`);
  return {
    openapi: '3.1.0',
    info: {
      title: 'bucketcast admin API',
      version: '1',
      description:
        'Applications, live streams, recordings and uploads, stored AWS credentials, publish security, webhooks. JSON; errors are `{error: {code, message, details?}}`. Authenticate with the session cookie from POST /api/v1/auth/login (and X-CSRF-Token on state-changing requests) or `Authorization: Bearer <API token>`.',
    },
    servers: [{ url: '/' }],
    security: [{ session: [], csrf: [] }, { bearer: [] }],
    tags: Object.values(T).map(([name]) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: 'bucketcast_session', description: 'from POST /api/v1/auth/login' },
        csrf: { type: 'apiKey', in: 'header', name: 'X-CSRF-Token', description: 'with a session, on POST/PUT/PATCH/DELETE: the csrfToken of the login answer or GET /api/v1/auth/me' },
        bearer: { type: 'http', scheme: 'bearer', description: 'an API token (bct_…) from POST /api/v1/auth/tokens' },
      },
      schemas: Object.fromEntries(Object.entries(components).sort(([a], [b]) => a.localeCompare(b))),
    },
  };
}

/** One operation: the prose, with the body, query parameters and answers of the route's schemas. */
function operation(r: Route, text: Operation, components: Record<string, JsonSchema>): Operation {
  const { spec } = r;
  if (text.requestBody) throw new Error(`${r.method} ${r.path}: a request body belongs in the route's schema, not in openapi-paths-*.ts`);
  const parameters = [...(text.parameters ?? [])];
  if (spec.query) {
    for (const [name, s] of Object.entries(spec.query.shape)) {
      const { description, ...schema } = jsonSchemaOf(s as never, 'output', components);
      parameters.push({ name, in: 'query', required: false, ...(description ? { description } : {}), schema });
    }
  }
  const responses: Operation['responses'] = { ...text.responses };
  for (const [status, s] of Object.entries(spec.responses)) {
    const description = text.responses[status]?.description ?? 'OK';
    const schema = s === null ? undefined : jsonSchemaOf(s, 'input', components);
    responses[status] = { ...text.responses[status], description, ...(schema ? { content: { 'application/json': { schema } } } : {}) };
  }
  const ordered = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));
  let requestBody: unknown;
  if (spec.body) {
    const schema = jsonSchemaOf(spec.body, 'input', components);
    const content: Record<string, { schema: JsonSchema }> = { 'application/json': { schema } };
    if (spec.form) content['application/x-www-form-urlencoded'] = { schema };
    // An absent body reads as `{}`: still required when the schema requires a field.
    const needsField = Array.isArray(schema.required) && schema.required.length > 0;
    requestBody = { required: !spec.optionalBody || needsField, content };
  }
  const { summary, description, tags, security, parameters: _parameters, responses: _responses, ...rest } = text;
  return {
    summary,
    ...(description ? { description } : {}),
    tags,
    ...(parameters.length ? { parameters } : {}),
    ...(requestBody ? { requestBody } : {}),
    responses: ordered,
    ...(security ? { security } : {}),
    ...rest,
  } as Operation;
}
