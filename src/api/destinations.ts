/**
 * Destinations through the API (issue 18 items 3 and 4):
 * - the `output` of `POST /api/v1/streams/<app>/<streamId>/recording`
 *   (checked here, kept by the storage module's destination book until the
 *   recording starts; answered without any secret or signature);
 * - `POST /api/v1/applications/<app>/destinations/validate`: the storage
 *   probe on a destination — the `output` in the body, or without one each
 *   of the app's `destinations` rules.
 */
import type { Request } from 'express';
import type { AppLookup } from '../apps/app-registry.js';
import type { CredentialStore } from '../db/types.js';
import type { Destinations } from '../storage/destinations/index.js';
import { checkOutput, describeDestination, type DestinationSpec } from '../storage/destinations/output.js';
import { AppError, ValidationError } from '../errors.js';
import { bodyObject, jsonBody, param, route, type Route } from './http.js';

export interface DestinationRoutesOptions {
  apps: AppLookup;
  /** Read when a request comes (the route table is built before the storage module exists in some tests). */
  destinations: () => Destinations | undefined;
  credentials: () => CredentialStore | undefined;
}

/** What a recording started by hand asks for: `{ output? }` (any other field is refused). */
export async function recordingRequest(req: Request, credentials: CredentialStore | undefined): Promise<{ spec?: DestinationSpec }> {
  const body = bodyObject(req, true);
  const unknown = Object.keys(body).filter((k) => k !== 'output');
  if (unknown.length) throw new ValidationError(unknown.map((k) => ({ path: k, message: 'unknown field (only "output")' })));
  if (body.output === undefined || body.output === null) return {};
  return { spec: await checkOutput(body.output, credentials) };
}

export function destinationRoutes(o: DestinationRoutesOptions): Route[] {
  return [
    route('post', '/applications/:name/destinations/validate', jsonBody, async (req) => {
      const name = param(req, 'name');
      const app = o.apps.get(name);
      if (!app) throw new AppError('app_not_found', `no application "${name}"`, 404);
      const d = o.destinations();
      if (!d) throw new AppError('storage_unavailable', 'storage is not running', 503);
      const body = bodyObject(req, true);
      const unknown = Object.keys(body).filter((k) => k !== 'output');
      if (unknown.length) throw new ValidationError(unknown.map((k) => ({ path: k, message: 'unknown field (only "output")' })));
      if (body.output !== undefined) {
        const spec = await checkOutput(body.output, o.credentials());
        return { app: name, destinations: [await d.validate(app, spec)] };
      }
      return { app: name, destinations: await d.validateRules(app) };
    }),
  ];
}

export { describeDestination };
