/**
 * `/api/v1/applications`: list, create, read, replace (PUT), patch (PATCH,
 * JSON merge patch) and delete applications. Settings are validated by the
 * config file's schema (422 naming each field; nothing is saved or applied
 * then), saved in the store (see `AppAdmin` for how they combine with the
 * config file) and applied without a restart. Webhook secrets are never
 * returned: a webhook shows `hasSecret: true`, and a webhook sent back
 * without `secret` keeps the one it has (matched by URL).
 */
import type { Request } from 'express';
import type { AppSettings } from '../config/schema.js';
import type { AppAdmin } from '../apps/app-admin.js';
import type { AppLookup } from '../apps/app-registry.js';
import type { StreamRegistry } from '../ingest/stream-registry.js';
import { AppError } from '../errors.js';
import { param, route, type Route } from './http.js';
import { Application } from './answers.js';
import { z } from './schema.js';
import { AppSettingsBody, MergePatch } from './app-schemas.js';
import { publishUrls, type PublishUrlsOptions } from './publish-urls.js';

export interface ApplicationRoutesOptions extends PublishUrlsOptions {
  /** Current applications. */
  apps: AppLookup;
  /** Validates, saves and applies changes. */
  admin: AppAdmin;
  /** Live publishers (counted per app). */
  streams: Pick<StreamRegistry, 'list'>;
}

/** An app's settings as the API shows them: webhook secrets replaced by `hasSecret`. */
export function publicSettings(app: AppSettings) {
  return { ...app, webhooks: app.webhooks.map(({ secret, ...w }) => ({ ...w, hasSecret: secret.length > 0 })) };
}

export function applicationRoutes(o: ApplicationRoutesOptions): Route[] {
  const view = (req: Request, app: AppSettings) => ({
    name: app.name,
    source: o.admin.source(app.name),
    liveStreams: o.streams.list().filter((s) => s.app === app.name).length,
    publish: publishUrls(req, o, app.name),
    settings: publicSettings(app),
  });
  const find = (req: Request) => {
    const app = o.apps.get(param(req, 'name'));
    if (!app) throw new AppError('app_not_found', `no application "${param(req, 'name')}"`, 404);
    return app;
  };
  const App = Application;
  return [
    route({ method: 'get', path: '/applications', responses: { 200: z.object({ applications: z.array(App) }) }, handler: (req) => ({ applications: o.apps.list().map((a) => view(req, a)) }) }),
    route({
      method: 'post',
      path: '/applications',
      // Checked by AppAdmin with the same schema (appSettings), whose problems name each field.
      body: AppSettingsBody,
      responses: { 201: App },
      handler: async (req, res, input) => {
        const app = await o.admin.create(input.rawBody());
        res.status(201).setHeader('Location', `/api/v1/applications/${encodeURIComponent(app.name)}`);
        return view(req, app);
      },
    }),
    route({ method: 'get', path: '/applications/:name', responses: { 200: App }, handler: (req) => view(req, find(req)) }),
    route({ method: 'put', path: '/applications/:name', body: AppSettingsBody, responses: { 200: App }, handler: async (req, _res, input) => view(req, await o.admin.replace(param(req, 'name'), input.rawBody())) }),
    route({ method: 'patch', path: '/applications/:name', body: MergePatch, responses: { 200: App }, handler: async (req, _res, input) => view(req, await o.admin.patch(param(req, 'name'), input.rawBody())) }),
    route({
      method: 'delete',
      path: '/applications/:name',
      responses: { 204: null },
      handler: async (req, res) => {
        await o.admin.delete(param(req, 'name'));
        res.status(204).end();
      },
    }),
  ];
}
