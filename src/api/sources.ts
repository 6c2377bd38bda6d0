/**
 * `/api/v1/applications/<app>/sources`: streams the server pulls (RTSP, RTMP,
 * HLS, SRT caller) or waits for (SRT listener), with their state; and
 * `/api/v1/applications/<app>/imports`: files recorded through the same
 * pipeline. URLs are answered with their password and passphrase masked.
 */
import type { SourceView } from '../sources/source-manager.js';
import type { ImportView } from '../sources/imports.js';
import { bodyObject, jsonBody, param, route, type Route } from './http.js';

export interface SourceRoutesOptions {
  sources: {
    list(app: string): SourceView[];
    get(app: string, streamId: string): SourceView;
    create(app: string, body: unknown): Promise<SourceView>;
    update(app: string, streamId: string, body: unknown): Promise<SourceView>;
    remove(app: string, streamId: string): Promise<void>;
    /** Sources whose `output` names a stored credential (its deletion is refused while they do). */
    usingCredential?(sid: string): Array<{ app: string; streamId: string }>;
  };
  imports: {
    list(app: string): ImportView[];
    get(app: string, id: string): ImportView;
    create(app: string, body: unknown): Promise<ImportView>;
  };
  /** 404 `app_not_found` for an unknown app. */
  requireApp(app: string): void;
}

const enc = encodeURIComponent;

export function sourceRoutes(o: SourceRoutesOptions): Route[] {
  const app = (req: Parameters<typeof param>[0]) => {
    const name = param(req, 'name');
    o.requireApp(name);
    return name;
  };
  return [
    route('get', '/applications/:name/sources', (req) => ({ sources: o.sources.list(app(req)) })),
    route('post', '/applications/:name/sources', jsonBody, async (req, res) => {
      const name = app(req);
      const s = await o.sources.create(name, bodyObject(req));
      res.status(201).setHeader('Location', `/api/v1/applications/${enc(name)}/sources/${enc(s.streamId)}`);
      return s;
    }),
    route('get', '/applications/:name/sources/:streamId', (req) => o.sources.get(app(req), param(req, 'streamId'))),
    route('patch', '/applications/:name/sources/:streamId', jsonBody, (req) => o.sources.update(app(req), param(req, 'streamId'), bodyObject(req))),
    route('delete', '/applications/:name/sources/:streamId', async (req, res) => {
      await o.sources.remove(app(req), param(req, 'streamId'));
      res.status(204).end();
    }),
    route('get', '/applications/:name/imports', (req) => ({ imports: o.imports.list(app(req)) })),
    route('post', '/applications/:name/imports', jsonBody, async (req, res) => {
      const name = app(req);
      const i = await o.imports.create(name, bodyObject(req));
      res.status(202).setHeader('Location', `/api/v1/applications/${enc(name)}/imports/${enc(i.importId)}`);
      return i;
    }),
    route('get', '/applications/:name/imports/:id', (req) => o.imports.get(app(req), param(req, 'id'))),
  ];
}
