/**
 * `POST /api/v1/applications/:name/storage/validate`: the storage check
 * (bucket name, credentials, write, HEAD, read back, delete a test object)
 * for the app's settings — or, with a body, for the settings a merge patch
 * would give, before saving them (the panel's "Test connection"). Always 200
 * with the report; `ok` says whether uploads will work.
 */
import type { AppAdmin } from '../apps/app-admin.js';
import type { AppSettings } from '../config/schema.js';
import type { ValidationReport } from '../storage/validation/validate.js';
import { AppError } from '../errors.js';
import { param, route, type Route } from './http.js';
import { ValidationReport as ValidationReportAnswer } from './answers.js';
import { MergePatch } from './app-schemas.js';

export interface StorageValidationOptions {
  /** Turns a merge patch into settings to test (validated, not saved). */
  admin: AppAdmin;
  /** Runs the checks. */
  storage: { validate(appName: string, candidate?: AppSettings): Promise<ValidationReport | undefined> };
}

export function storageValidationRoutes(o: StorageValidationOptions): Route[] {
  return [
    route({
      method: 'post',
      path: '/applications/:name/storage/validate',
      body: MergePatch.describe('optional merge patch of AppSettings'),
      optionalBody: true,
      responses: { 200: ValidationReportAnswer },
      handler: async (req, _res, input) => {
      const name = param(req, 'name');
      const patch = input.rawBody();
      const candidate = Object.keys(patch).length ? o.admin.preview(name, patch) : undefined;
      const report = await o.storage.validate(name, candidate);
      if (!report) throw new AppError('app_not_found', `no application "${name}"`, 404);
      return report;
      },
    }),
  ];
}
