/** OpenAPI paths: sources (pulled streams) and imports of an application. */
import { APP, arr, bool, iso, nullable, num, obj, pathParam, ref, str, type Schema } from './openapi-schemas.js';
import { E, T, ok, op, errorResponse } from './openapi-ops.js';
import { DESTINATION, OUTPUT } from './openapi-paths-destinations.js';

export const SOURCE_OUTPUT: Schema = {
  ...OUTPUT,
  description:
    'Where every recording of the source goes instead of the app\'s bucket (its `destinations` rules do not apply then): an s3:// object as for a recording started by hand — `{ "url": "s3://<bucket>/<prefix>/", "auth": { "key", "secret" } }` (in-line keys, sealed at rest in sources.json, never returned or logged), `{ "url": "s3://…", "credential": "CR…" }` or `{ "url": "s3://…" }`. A pre-signed PUT URL is refused (`output_invalid`): a source records again at each reconnection and such an URL takes one object. In a PATCH, `null` removes it.',
  anyOf: [(OUTPUT.anyOf as Schema[])[1]],
};
const SHOWN: Schema = { ...nullable(DESTINATION), description: 'Where its recordings go, never with a key, a secret or a signature; null: the app\'s destination rules, else its bucket' };

const SID = pathParam('streamId', 'the source\'s stream id');

export const sourceSchemas = (): Record<string, Schema> => ({
  Source: obj({
    app: str(),
    streamId: str(),
    url: nullable(str('the URL with its password, SRT passphrase and signature parameters masked (`***`); null when it cannot be decrypted')),
    kind: nullable(str('rtsp | rtmp | hls | srt-caller | srt-listener')),
    protocol: nullable(str('rtsp | rtmp | hls | srt')),
    enabled: bool(),
    onDemand: bool(),
    rtspTransport: str('tcp | udp'),
    origin: str('config (read-only here) | api'),
    state: str('disabled | idle | connecting | live | failed'),
    lastError: nullable(str()),
    since: iso('when the state began'),
    nextAttemptAt: nullable(iso('failed: when the next attempt is')),
    sessionId: nullable(str('live: the publisher session (see /streams)')),
    output: SHOWN,
  }),
  Import: obj({
    importId: str(),
    app: str(),
    streamId: str(),
    url: str('masked like a source URL (a pre-signed URL\'s signature is hidden)'),
    state: str('reading | recorded | completed | failed'),
    seconds: num('media read so far'),
    durationSeconds: nullable(num()),
    progress: nullable(num('0–1')),
    recordingId: nullable(str('once recorded')),
    error: nullable(str()),
    createdAt: iso(),
    finishedAt: nullable(iso()),
    output: SHOWN,
  }),
});

export function sourcePaths(): Record<string, Record<string, unknown>> {
  const tags = T.sources;
  return {
    '/api/v1/applications/{name}/sources': {
      get: op({ summary: 'The application\'s sources with their state', tags, parameters: [APP], responses: { 200: ok('sources', obj({ sources: arr(ref('Source')) })), 404: E.e404 } }),
      post: op({
        summary: 'Add a source: the server pulls it (or listens for it) and publishes it as its stream id',
        description: 'Recorded like any publisher. Reconnects with backoff when the far end drops. One publisher per stream id whatever the protocol: a push to the same id is refused while the source is live, and the other way round.',
        tags,
        unsafe: true,
        parameters: [APP],
        responses: { 201: ok('added', ref('Source')), 404: E.e404, 409: errorResponse('`source_exists`, or `port_in_use` (another SRT listener source has the port)'), 415: E.e415, 422: E.e422, 503: errorResponse('`storage_unavailable`: an output was given and storage is not running') },
      }),
    },
    '/api/v1/applications/{name}/sources/{streamId}': {
      get: op({ summary: 'One source', tags, parameters: [APP, SID], responses: { 200: ok('the source', ref('Source')), 404: E.e404 } }),
      patch: op({
        summary: 'Change a source (url, enabled, onDemand, rtspTransport, output); it reconnects',
        tags,
        unsafe: true,
        parameters: [APP, SID],
        responses: { 200: ok('changed', ref('Source')), 404: E.e404, 409: errorResponse('`source_in_config`: change it in the config file; `port_in_use`'), 415: E.e415, 422: E.e422 },
      }),
      delete: op({ summary: 'Remove a source (its live recording is finalized)', tags, unsafe: true, parameters: [APP, SID], responses: { 204: { description: 'removed' }, 404: E.e404, 409: errorResponse('`source_in_config`') } }),
    },
    '/api/v1/applications/{name}/imports': {
      get: op({ summary: 'Imports of this run of the server, newest first', tags, parameters: [APP], responses: { 200: ok('imports', obj({ imports: arr(ref('Import')) })), 404: E.e404 } }),
      post: op({
        summary: 'Import a finished file (MP4, MKV, MPEG-TS) from an http(s) or pre-signed GET URL',
        description: 'Recorded through the same pipeline as a live stream (remux, parts, previews, poster, sidecar, upload, stable URL), as fast as it can be read. Progress in `import.progress` events and GET …/imports/{id}.',
        tags,
        unsafe: true,
        parameters: [APP],
        responses: { 202: ok('started', ref('Import')), 404: E.e404, 409: errorResponse('`stream_busy`: the stream id is live'), 415: E.e415, 422: E.e422, 503: errorResponse('`storage_unavailable`: an output was given and storage is not running') },
      }),
    },
    '/api/v1/applications/{name}/imports/{id}': {
      get: op({ summary: 'One import', tags, parameters: [APP, pathParam('id', 'import id')], responses: { 200: ok('the import', ref('Import')), 404: E.e404 } }),
    },
  };
}


