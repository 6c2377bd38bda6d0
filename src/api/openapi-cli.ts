/** Writes docs/openapi.json from the API's description (`npm run docs:openapi`). */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openApiDocument } from './openapi.js';
import { apiRoutes, type ApiOptions } from './index.js';
import type { AppAdmin } from '../apps/app-admin.js';
import type { UploadProgress } from './upload-progress.js';
import { packagePath } from '../package-root.js';

/** Where the document is kept in the repository. */
export const OPENAPI_FILE = packagePath('docs', 'openapi.json');

/** The file's exact text. */
export function openApiText(): string {
  return `${JSON.stringify(apiDocument(), null, 2)}\n`;
}

/** The document of the route table (building the table touches none of its collaborators, so empty ones do). */
export function apiDocument() {
  const { open, guarded, root } = apiRoutes({ settings: {}, store: {} } as unknown as ApiOptions, {} as AppAdmin, {} as UploadProgress);
  return openApiDocument({ api: [...open, ...guarded], root });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(OPENAPI_FILE, openApiText());
  process.stdout.write(`wrote ${OPENAPI_FILE}\n`);
}
