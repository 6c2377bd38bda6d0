/**
 * `/api/v1/applications/<app>/sources`: streams the server pulls (RTSP, RTMP,
 * HLS, SRT caller) or waits for (SRT listener), with their state; and
 * `/api/v1/applications/<app>/imports`: files recorded through the same
 * pipeline. URLs are answered with their password and passphrase masked.
 */
import type { SourceView } from '../sources/source-manager.js';
import type { ImportView } from '../sources/imports.js';
import { param, route, type Route } from './http.js';
import { checkedLater } from './schema.js';
import { Import, Source } from './answers.js';
import { z } from './schema.js';
import { OUTPUT } from './openapi-paths-destinations.js';
import { SOURCE_OUTPUT } from './openapi-paths-sources.js';
import { sourceSettings } from '../config/sources-schema.js';
import { importBody } from '../sources/imports.js';

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
    route({ method: 'get', path: '/applications/:name/sources', responses: { 200: z.object({ sources: z.array(Source) }) }, handler: (req) => ({ sources: o.sources.list(app(req)) }) }),
    route({
      method: 'post',
      path: '/applications/:name/sources',
      // Checked by the source manager with the same schemas (the config file's, and checkOutput for `output`).
      body: SourceBody,
      responses: { 201: Source },
      handler: async (req, res, input) => {
        const name = app(req);
        const s = await o.sources.create(name, input.rawBody());
        res.status(201).setHeader('Location', `/api/v1/applications/${enc(name)}/sources/${enc(s.streamId)}`);
        return s;
      },
    }),
    route({ method: 'get', path: '/applications/:name/sources/:streamId', responses: { 200: Source }, handler: (req) => o.sources.get(app(req), param(req, 'streamId')) }),
    route({ method: 'patch', path: '/applications/:name/sources/:streamId', body: SourcePatch, responses: { 200: Source }, handler: (req, _res, input) => o.sources.update(app(req), param(req, 'streamId'), input.rawBody()) }),
    route({
      method: 'delete',
      path: '/applications/:name/sources/:streamId',
      responses: { 204: null },
      handler: async (req, res) => {
        await o.sources.remove(app(req), param(req, 'streamId'));
        res.status(204).end();
      },
    }),
    route({ method: 'get', path: '/applications/:name/imports', responses: { 200: z.object({ imports: z.array(Import) }) }, handler: (req) => ({ imports: o.imports.list(app(req)) }) }),
    route({
      method: 'post',
      path: '/applications/:name/imports',
      // Checked by the import service with this schema (and checkOutput for `output`).
      body: ImportBody,
      responses: { 202: Import },
      handler: async (req, res, input) => {
        const name = app(req);
        const i = await o.imports.create(name, input.rawBody());
        res.status(202).setHeader('Location', `/api/v1/applications/${enc(name)}/imports/${enc(i.importId)}`);
        return i;
      },
    }),
    route({ method: 'get', path: '/applications/:name/imports/:id', responses: { 200: Import }, handler: (req) => o.imports.get(app(req), param(req, 'id')) }),
  ];
}

const SOURCE_FIELDS = {
  streamId: 'letters, digits, ".", "-", "_"',
  url: 'rtsp(s)://[user:password@]host/…, rtmp(s)://…, http(s)://…m3u8, srt://host:port[?streamid=…&passphrase=…] (caller), srt://:port?mode=listener[&streamid=…&passphrase=…]; stored encrypted, never answered in clear',
  enabled: 'default true',
  onDemand: 'default false: pulled only while viewers ask for its live playlist',
  rtspTransport: 'tcp (default) | udp',
};
const described = sourceSettings.omit({ output: true }).extend({
  streamId: sourceSettings.shape.streamId.describe(SOURCE_FIELDS.streamId),
  url: sourceSettings.shape.url.describe(SOURCE_FIELDS.url),
  enabled: sourceSettings.shape.enabled.describe(SOURCE_FIELDS.enabled),
  onDemand: sourceSettings.shape.onDemand.describe(SOURCE_FIELDS.onDemand),
  rtspTransport: sourceSettings.shape.rtspTransport.describe(SOURCE_FIELDS.rtspTransport),
});

/** A source as the API takes it: the config file's schema, with any `output` form but a pre-signed URL. */
export const SourceBody = described.extend({ output: checkedLater(SOURCE_OUTPUT) }).meta({ id: 'SourceInput' });

/** What a PATCH may change; `output: null` removes it. */
export const SourcePatch = described
  .pick({ url: true, enabled: true, onDemand: true, rtspTransport: true })
  .partial()
  .extend({ output: checkedLater({ anyOf: [SOURCE_OUTPUT, { type: 'null' }], description: 'as when added; null removes it (the app\'s destination rules, else its bucket)' }) });

/** An import: the import service's own schema, with the output's forms documented. */
export const ImportBody = importBody.extend({
  url: importBody.shape.url.describe('http:// or https://'),
  streamId: importBody.shape.streamId.describe('default: import-<id>'),
  output: checkedLater({ ...OUTPUT, description: `Where its recording goes instead of the app's bucket, as for a recording started by hand. ${OUTPUT.description} With a pre-signed URL only a one-part recording is delivered: a file longer than the app's recordSegmentSeconds makes several parts.` }),
});
