/** OpenAPI paths: sources (pulled streams) and imports of an application. */
import { APP, E, T, ok, op, errorResponse, pathParam, type Schema } from './openapi-ops.js';
import { OUTPUT } from './openapi-paths-destinations.js';

export const SOURCE_OUTPUT: Schema = {
  ...OUTPUT,
  description:
    'Where every recording of the source goes instead of the app\'s bucket (its `destinations` rules do not apply then): an s3:// object as for a recording started by hand — `{ "url": "s3://<bucket>/<prefix>/", "auth": { "key", "secret" } }` (in-line keys, sealed at rest in sources.json, never returned or logged), `{ "url": "s3://…", "credential": "CR…" }` or `{ "url": "s3://…" }`. A pre-signed PUT URL is refused (`output_invalid`): a source records again at each reconnection and such an URL takes one object. In a PATCH, `null` removes it.',
  anyOf: [(OUTPUT.anyOf as Schema[])[1]],
};

const SID = pathParam('streamId', 'the source\'s stream id');

export function sourcePaths(): Record<string, Record<string, unknown>> {
  const tags = T.sources;
  return {
    '/api/v1/applications/{name}/sources': {
      get: op({ summary: 'The application\'s sources with their state', tags, parameters: [APP], responses: { 200: ok('sources'), 404: E.e404 } }),
      post: op({
        summary: 'Add a source: the server pulls it (or listens for it) and publishes it as its stream id',
        description: 'Recorded like any publisher. Reconnects with backoff when the far end drops. One publisher per stream id whatever the protocol: a push to the same id is refused while the source is live, and the other way round.',
        tags,
        unsafe: true,
        parameters: [APP],
        responses: { 201: ok('added'), 404: E.e404, 409: errorResponse('`source_exists`, or `port_in_use` (another SRT listener source has the port)'), 415: E.e415, 422: E.e422, 503: errorResponse('`storage_unavailable`: an output was given and storage is not running') },
      }),
    },
    '/api/v1/applications/{name}/sources/{streamId}': {
      get: op({ summary: 'One source', tags, parameters: [APP, SID], responses: { 200: ok('the source'), 404: E.e404 } }),
      patch: op({
        summary: 'Change a source (url, enabled, onDemand, rtspTransport, output); it reconnects',
        tags,
        unsafe: true,
        parameters: [APP, SID],
        responses: { 200: ok('changed'), 404: E.e404, 409: errorResponse('`source_in_config`: change it in the config file; `port_in_use`'), 415: E.e415, 422: E.e422 },
      }),
      delete: op({ summary: 'Remove a source (its live recording is finalized)', tags, unsafe: true, parameters: [APP, SID], responses: { 204: { description: 'removed' }, 404: E.e404, 409: errorResponse('`source_in_config`') } }),
    },
    '/api/v1/applications/{name}/imports': {
      get: op({ summary: 'Imports of this run of the server, newest first', tags, parameters: [APP], responses: { 200: ok('imports'), 404: E.e404 } }),
      post: op({
        summary: 'Import a finished file (MP4, MKV, MPEG-TS) from an http(s) or pre-signed GET URL',
        description: 'Recorded through the same pipeline as a live stream (remux, parts, previews, poster, sidecar, upload, stable URL), as fast as it can be read. Progress in `import.progress` events and GET …/imports/{id}.',
        tags,
        unsafe: true,
        parameters: [APP],
        responses: { 202: ok('started'), 404: E.e404, 409: errorResponse('`stream_busy`: the stream id is live'), 415: E.e415, 422: E.e422, 503: errorResponse('`storage_unavailable`: an output was given and storage is not running') },
      }),
    },
    '/api/v1/applications/{name}/imports/{id}': {
      get: op({ summary: 'One import', tags, parameters: [APP, pathParam('id', 'import id')], responses: { 200: ok('the import'), 404: E.e404 } }),
    },
  };
}


