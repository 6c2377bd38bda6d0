/**
 * Destinations through the API (issue 18 items 3 and 4):
 * - the `output` of `POST /api/v1/streams/<app>/<streamId>/recording`
 *   (checked here, kept by the storage module's destination book until the
 *   recording starts; answered without any secret or signature);
 * - `POST /api/v1/applications/<app>/destinations/validate`: the storage
 *   probe on a destination — the `output` in the body, or without one each
 *   of the app's `destinations` rules.
 */
import type { AppLookup } from '../apps/app-registry.js';
import type { CredentialStore } from '../db/types.js';
import type { Destinations } from '../storage/destinations/index.js';
import { checkOutput, describeDestination, type DestinationSpec } from '../storage/destinations/output.js';
import { AppError } from '../errors.js';
import { param, route, type Route, type RouteInput } from './http.js';
import { body, checkedLater, z } from './schema.js';
import { OUTPUT } from './openapi-paths-destinations.js';
import { DestinationValidation } from './answers.js';

export interface DestinationRoutesOptions {
  apps: AppLookup;
  /** Read when a request comes (the route table is built before the storage module exists in some tests). */
  destinations: () => Destinations | undefined;
  credentials: () => CredentialStore | undefined;
}

/** `{ output? }`, any other field refused; the output's forms are checked by `checkOutput` (problems name `output.credential` …). */
export const OutputBody = body({ output: checkedLater(OUTPUT) }, 'unknown field (only "output")');

/** What a recording started by hand asks for: its `output`, if any. */
export async function recordingRequest(input: RouteInput<z.output<typeof OutputBody>, unknown>, credentials: CredentialStore | undefined): Promise<{ spec?: DestinationSpec }> {
  const { output } = input.body();
  if (output === undefined || output === null) return {};
  return { spec: await checkOutput(output, credentials) };
}

export function destinationRoutes(o: DestinationRoutesOptions): Route[] {
  return [
    route({
      method: 'post',
      path: '/applications/:name/destinations/validate',
      body: OutputBody,
      optionalBody: true,
      responses: { 200: z.object({ app: z.string(), destinations: z.array(DestinationValidation) }) },
      handler: async (req, _res, input) => {
        const name = param(req, 'name');
        const app = o.apps.get(name);
        if (!app) throw new AppError('app_not_found', `no application "${name}"`, 404);
        const d = o.destinations();
        if (!d) throw new AppError('storage_unavailable', 'storage is not running', 503);
        const { output } = input.body();
        if (output !== undefined) {
          const spec = await checkOutput(output, o.credentials());
          return { app: name, destinations: [await d.validate(app, spec)] };
        }
        return { app: name, destinations: await d.validateRules(app) };
      },
    }),
  ];
}

export { describeDestination };
