/**
 * The OpenAPI 3.1 description of the admin API, served at
 * `/api/v1/openapi.json` and written to docs/openapi.json
 * (`npm run docs:openapi`). The application settings schema is generated from
 * the config schema itself (zod → JSON Schema), so it cannot drift; a test
 * checks that every route the API mounts is described here.
 */
import { schemas } from './openapi-schemas.js';
import { T } from './openapi-ops.js';
import { adminPaths } from './openapi-paths-admin.js';
import { mediaPaths } from './openapi-paths-media.js';
import { sourcePaths, sourceSchemas } from './openapi-paths-sources.js';
import { destinationPaths } from './openapi-paths-destinations.js';

/** The whole document. */
export function openApiDocument() {
  const paths: Record<string, Record<string, unknown>> = { ...adminPaths(), ...mediaPaths(), ...sourcePaths() };
  for (const [p, ops] of Object.entries(destinationPaths())) paths[p] = { ...paths[p], ...ops };
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
      schemas: { ...schemas(), ...sourceSchemas() },
    },
  };
}
