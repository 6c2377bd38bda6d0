/**
 * API documentation: every route the API mounts is in the OpenAPI
 * document (and nothing else is), each with its responses; docs/openapi.json
 * is the document as the code builds it (`npm run docs:openapi`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { apiRoutes, type ApiOptions } from '../../src/api/index.js';
import type { AppAdmin } from '../../src/apps/app-admin.js';
import type { UploadProgress } from '../../src/api/upload-progress.js';
import { openApiDocument } from '../../src/api/openapi.js';
import { OPENAPI_FILE, openApiText } from '../../src/api/openapi-cli.js';

/** `/applications/:name` → `/api/v1/applications/{name}` */
const openApiPath = (p: string) => `/api/v1${p.replace(/:(\w+)/g, '{$1}')}`;

test('every API route is documented, and every documented route exists', () => {
  // Building the route table touches none of its collaborators, so empty ones do.
  const { open, guarded } = apiRoutes({ settings: {}, store: {} } as unknown as ApiOptions, {} as AppAdmin, {} as UploadProgress);
  const mounted = [...open, ...guarded].map((r) => `${r.method.toUpperCase()} ${openApiPath(r.path)}`);
  const doc = openApiDocument() as { paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown[] }>> };
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

test('docs/openapi.json is up to date (npm run docs:openapi)', () => {
  assert.equal(readFileSync(OPENAPI_FILE, 'utf8'), openApiText());
});

test('the settings schema in the document is the config schema (defaults and limits included)', () => {
  const doc = openApiDocument() as { components: { schemas: Record<string, any> } };
  const s = doc.components.schemas.AppSettings;
  assert.equal(s.properties.hlsTime.maximum, 60);
  assert.equal(s.properties.publishSecurity.properties.mode.default, 'none');
  assert.deepEqual(s.required, ['name']);
  const view = doc.components.schemas.AppSettingsView.properties.webhooks.items;
  assert.ok(!('secret' in view.properties) && 'hasSecret' in view.properties, 'answers never show a secret');
});
