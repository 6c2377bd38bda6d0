/** OpenAPI paths of destinations per recording (issue 18): the `output` of a recording started by hand, and destination validation. */
import { APP, STREAM, arr, bool, int, nullable, obj, ref, str, type Schema } from './openapi-schemas.js';
import { E, T, ok, op, errorResponse } from './openapi-ops.js';

export const OUTPUT: Schema = {
  description:
    'Where the recording goes instead of the app\'s bucket. A string: a pre-signed PUT URL (http or https) — the MP4 alone is PUT there in one request: one object, at most 5 GB; an URL that expires before the upload fails with `output_expired` and the recording is kept on the server. An object: `{ "url": "s3://<bucket>/<prefix>/", "auth": { "key", "secret" } }` (in-line keys, sealed at rest, never returned or logged), `{ "url": "s3://…", "credential": "CR…" }` (a stored credential) or `{ "url": "s3://…" }` (the app\'s credentials) — the whole recording (MP4 parts, HLS, previews, sidecar) goes there through the upload queue; `endpoint`, `region`, `forcePathStyle` default to the app\'s `s3` settings.',
  anyOf: [
    { type: 'string', format: 'uri' },
    {
      type: 'object',
      properties: {
        url: str('s3://<bucket>/<prefix>/'),
        auth: obj({ key: str('access key id'), secret: str('secret access key') }),
        credential: str('stored credential id (CR + 32 hex digits)'),
        endpoint: str(),
        region: str(),
        forcePathStyle: bool(),
      },
      required: ['url'],
    },
  ],
};

export const DESTINATION: Schema = {
  type: 'object',
  description: 'A destination as it may be shown: never a key, a secret or a signature',
  properties: {
    kind: str('presigned-put | s3'),
    url: str('the pre-signed URL without its query, or the s3:// URL'),
    expiresAt: nullable(str()),
    maxBytes: int(),
    bucket: str(),
    prefix: str(),
    endpoint: nullable(str()),
    region: nullable(str()),
    credentials: str('in-line | app | the stored credential id'),
  },
  required: ['kind', 'url'],
};

export const VALIDATION: Schema = {
  type: 'object',
  properties: {
    destination: DESTINATION,
    ok: bool('uploads to it will work (as far as could be checked)'),
    summary: str(),
    report: ref('ValidationReport'),
    rule: int('index in the app\'s destinations (rules only)'),
    streamId: str('the rule\'s stream-id pattern (rules only)'),
  },
  required: ['destination', 'ok', 'summary'],
};

/** Paths replaced or added by destinations; merged over the others in openapi.ts. */
export function destinationPaths(): Record<string, Record<string, unknown>> {
  return {
    '/api/v1/streams/{app}/{streamId}/recording': {
      post: op({
        summary: 'Start recording a live stream (at its next keyframe), optionally to its own destination',
        description: 'Without an `output` the recording goes to the app\'s bucket (the app\'s `destinations` rules are for recordings nobody started by hand).',
        tags: T.streams,
        unsafe: true,
        parameters: STREAM,
        responses: {
          202: ok('starting', obj({ app: str(), streamId: str(), recording: str(), output: nullable(DESTINATION), note: str('a caveat of the output (one object per pre-signed URL)') }, ['app', 'streamId', 'recording', 'output'])),
          404: E.e404,
          409: errorResponse('`already_recording`'),
          422: errorResponse('`output_invalid`, `output_expired`, `credential_not_found`, `validation_failed`, with the field in `details`'),
        },
      }),
    },
    '/api/v1/applications/{name}/destinations/validate': {
      post: op({
        summary: 'Test destinations: an output, or each of the app\'s destination rules',
        description: 'The storage probe (write, multipart, HEAD, read, list, abort, delete of a test object, as far as the permissions allow) on an s3:// destination; a pre-signed PUT URL is only checked for its form and expiry (a probe would take the recording\'s place). Always 200 with the reports.',
        tags: T.apps,
        unsafe: true,
        parameters: [APP],
        responses: { 200: ok('the reports', obj({ app: str(), destinations: arr(VALIDATION) })), 404: E.e404, 422: E.e422 },
      }),
    },
  };
}
