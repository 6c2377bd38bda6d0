/**
 * The OpenAPI document is built from the route table: every route declares
 * its body, query parameters and answers as schemas (the ones that check its
 * requests), the document is well-formed OpenAPI 3.1, and docs/openapi.json
 * is the document as the code builds it (`npm run docs:openapi`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { apiRoutes, type ApiOptions } from '../../src/api/index.js';
import type { AppAdmin } from '../../src/apps/app-admin.js';
import type { UploadProgress } from '../../src/api/upload-progress.js';
import { openApiDocument } from '../../src/api/openapi.js';
import { OPENAPI_FILE, apiDocument, openApiText } from '../../src/api/openapi-cli.js';
import { route, type Route } from '../../src/api/http.js';
import { checkBody, pathOf, z } from '../../src/api/schema.js';
import { LoginBody } from '../../src/api/auth-routes.js';

/** `/applications/:name` → `/api/v1/applications/{name}` */
const openApiPath = (p: string) => `/api/v1${p.replace(/:(\w+)/g, '{$1}')}`;
// Building the route table touches none of its collaborators, so empty ones do.
const table = () => apiRoutes({ settings: {}, store: {} } as unknown as ApiOptions, {} as AppAdmin, {} as UploadProgress);

type Op = { parameters?: Array<{ name: string; in: string; required?: boolean; schema?: unknown }>; requestBody?: { content: Record<string, { schema: unknown }> }; responses: Record<string, { description?: string; content?: Record<string, { schema: unknown }> }>; security?: unknown[] };

test('every API route is documented, and every documented route exists', () => {
  const { open, guarded } = table();
  const mounted = [...open, ...guarded].map((r) => `${r.method.toUpperCase()} ${openApiPath(r.path)}`);
  const doc = apiDocument() as unknown as { paths: Record<string, Record<string, Op>> };
  const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
  assert.deepEqual(mounted.filter((r) => !documented.includes(r)), [], 'mounted but not documented');
  assert.deepEqual(documented.filter((r) => !mounted.includes(r) && r !== 'GET /metrics'), [], 'documented but not mounted');
  assert.equal(new Set(mounted).size, mounted.length, 'no route mounted twice');
  for (const [p, ops] of Object.entries(doc.paths)) {
    for (const [m, op] of Object.entries(ops)) {
      const codes = Object.keys(op.responses);
      assert.ok(codes.some((c) => c.startsWith('2') || c === '101'), `${m} ${p} has a success answer`);
      const open = Array.isArray(op.security) && op.security.length === 0;
      if (!open) assert.ok(codes.includes('401'), `${m} ${p} documents 401`);
    }
  }
  const openRoutes = open.map((r) => openApiPath(r.path));
  assert.deepEqual(openRoutes.sort(), ['/api/v1/auth/login', '/api/v1/auth/logout', '/api/v1/auth/me', '/api/v1/auth/password', '/api/v1/auth/tokens', '/api/v1/auth/tokens', '/api/v1/auth/tokens/{id}', '/api/v1/openapi.json'].sort());
});

test('every route declares its answers (a schema for each one with a body), and one that takes a body declares it', () => {
  const { open, guarded, root } = table();
  for (const r of [...open, ...guarded, ...root]) {
    const name = `${r.method.toUpperCase()} ${r.path}`;
    const success = Object.entries(r.spec.responses).filter(([c]) => c.startsWith('2') || c === '101');
    assert.ok(success.length > 0, `${name} declares a success answer`);
    for (const [code, schema] of success) {
      const empty = code === '204' || code === '101' || r.path === '/metrics';
      assert.equal(schema === null, empty, `${name} ${code}: ${empty ? 'no body' : 'a schema of its answer'}`);
    }
    // A route reads a body only through its schema: one with a body parser has one.
    const parses = r.handlers.some((h) => h.name === 'jsonBody' || h.name === 'jsonOrFormBody');
    assert.equal(parses, r.spec.body !== undefined, `${name}: body parser and body schema go together`);
    if (['post', 'put', 'patch'].includes(r.method) && !r.spec.body) assert.ok(!r.spec.optionalBody, `${name}: optionalBody without a body`);
  }
});

test('a route without a summary, or a summary without a route, cannot be documented', () => {
  const { open, guarded, root } = table();
  const stray: Route = route({ method: 'get', path: '/nowhere', responses: { 200: z.object({}) }, handler: () => ({}) });
  assert.throws(() => openApiDocument({ api: [...open, ...guarded, stray], root }), /GET \/api\/v1\/nowhere has no summary/);
  assert.throws(() => openApiDocument({ api: guarded, root }), /described but not routed: .*POST \/api\/v1\/auth\/login/);
});

test('the document is OpenAPI 3.1: operations, path parameters, references, bodies and answers well formed', () => {
  const doc = apiDocument() as unknown as { openapi: string; info: { title: string; version: string }; paths: Record<string, Record<string, Op>>; components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> } };
  assert.match(doc.openapi, /^3\.1\.\d+$/);
  assert.ok(doc.info.title && doc.info.version);
  const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
  const TYPES = ['string', 'number', 'integer', 'boolean', 'object', 'array', 'null'];
  const refs: string[] = [];
  const walkSchema = (s: unknown, where: string): void => {
    if (Array.isArray(s)) return s.forEach((x, i) => walkSchema(x, `${where}[${i}]`));
    if (!s || typeof s !== 'object') return;
    const o = s as Record<string, unknown>;
    if (typeof o.$ref === 'string') refs.push(o.$ref);
    if (o.type !== undefined) for (const t of [o.type].flat()) assert.ok(TYPES.includes(t as string), `${where}: type ${String(t)}`);
    if (o.required !== undefined) {
      assert.ok(Array.isArray(o.required), `${where}: required is a list`);
      const props = (o.properties ?? {}) as Record<string, unknown>;
      for (const r of o.required as string[]) assert.ok(r in props, `${where}: required ${r} is a property`);
    }
    assert.ok(!('$schema' in o) && !('$defs' in o), `${where}: no $schema or $defs inside the document`);
    for (const [k, v] of Object.entries(o)) if (k !== 'enum' && k !== 'default' && k !== 'const' && k !== 'examples') walkSchema(v, `${where}.${k}`);
  };
  for (const [p, ops] of Object.entries(doc.paths)) {
    assert.ok(p.startsWith('/'), p);
    const pathParams = [...p.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
    for (const [m, op] of Object.entries(ops)) {
      const where = `${m.toUpperCase()} ${p}`;
      assert.ok(METHODS.includes(m), where);
      const params = op.parameters ?? [];
      assert.equal(new Set(params.map((x) => `${x.in} ${x.name}`)).size, params.length, `${where}: parameters unique`);
      for (const x of params) {
        assert.ok(['path', 'query', 'header', 'cookie'].includes(x.in) && x.schema, `${where}: parameter ${x.name}`);
        if (x.in === 'path') assert.ok(x.required === true && pathParams.includes(x.name), `${where}: path parameter ${x.name}`);
        walkSchema(x.schema, `${where} ${x.name}`);
      }
      for (const name of pathParams) assert.ok(params.some((x) => x.in === 'path' && x.name === name), `${where}: {${name}} declared`);
      if (op.requestBody) {
        assert.ok(Object.keys(op.requestBody.content).length > 0, `${where}: body content`);
        for (const c of Object.values(op.requestBody.content)) walkSchema(c.schema, `${where} body`);
      }
      assert.ok(Object.keys(op.responses).length > 0, `${where}: responses`);
      for (const [code, r] of Object.entries(op.responses)) {
        assert.match(code, /^[1-5]\d\d$/, `${where}: status ${code}`);
        assert.equal(typeof r.description, 'string', `${where} ${code}: description`);
        for (const c of Object.values(r.content ?? {})) walkSchema(c.schema, `${where} ${code}`);
      }
    }
  }
  for (const [name, s] of Object.entries(doc.components.schemas)) walkSchema(s, `components.schemas.${name}`);
  for (const r of refs) {
    const name = r.replace('#/components/schemas/', '');
    assert.ok(r.startsWith('#/components/schemas/') && name in doc.components.schemas, `reference ${r} resolves`);
  }
});

test('bodies: the document carries the limits the route enforces (/auth/login)', () => {
  const doc = apiDocument() as unknown as { paths: Record<string, Record<string, Op>> };
  const login = doc.paths['/api/v1/auth/login'].post.requestBody!.content['application/json'].schema as { properties: Record<string, { maxLength?: number }>; required: string[]; additionalProperties: boolean };
  assert.equal(login.properties.username.maxLength, 128);
  assert.equal(login.properties.password.maxLength, 1024);
  assert.deepEqual(login.required, ['password']);
  assert.equal(login.additionalProperties, false, 'unknown fields are refused, and the document says so');
  const tooLong = () => checkBody(LoginBody, { password: 'x'.repeat(1025), extra: 1 });
  assert.throws(tooLong, (e: { details: unknown }) => {
    assert.deepEqual(e.details, [{ path: 'extra', message: 'unknown field' }, { path: 'password', message: 'must be at most 1024 characters' }]);
    return true;
  });
  assert.equal(pathOf(['output', 'credential']), 'output.credential');
  assert.equal(pathOf(['webhooks', 0, 'secret']), 'webhooks[0].secret');
});

test('docs/openapi.json is up to date (npm run docs:openapi)', () => {
  assert.equal(readFileSync(OPENAPI_FILE, 'utf8'), openApiText());
});

test('the settings schema in the document is the config schema (defaults and limits included)', () => {
  const doc = apiDocument() as unknown as { components: { schemas: Record<string, any> } };
  const s = doc.components.schemas.AppSettings;
  assert.equal(s.properties.hlsTime.maximum, 60);
  assert.equal(s.properties.publishSecurity.properties.mode.default, 'none');
  assert.deepEqual(s.required, ['name']);
  const view = doc.components.schemas.AppSettingsView.properties.webhooks.items;
  assert.ok(!('secret' in view.properties) && 'hasSecret' in view.properties, 'answers never show a secret');
});
