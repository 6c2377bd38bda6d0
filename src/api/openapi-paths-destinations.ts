/** OpenAPI paths of destinations per recording (issue 18): the `output` of a recording started by hand, and destination validation. */
import { z } from './schema.js';
import { APP, E, STREAM, T, docOf, ok, op, errorResponse, type Schema } from './openapi-ops.js';

/** The `output` a recording started by hand takes (checked by `checkOutput`, src/storage/destinations/output.ts): its document. */
const S3Output = z.object({
  url: z.string().describe('s3://<bucket>/<prefix>/'),
  auth: z.object({ key: z.string().describe('access key id'), secret: z.string().describe('secret access key') }).optional(),
  credential: z.string().describe('stored credential id (CR + 32 hex digits)').optional(),
  endpoint: z.string().optional(),
  region: z.string().optional(),
  forcePathStyle: z.boolean().optional(),
});

export const OUTPUT: Schema = docOf(
  z.union([z.string().meta({ format: 'uri' }), S3Output]).describe(
    'Where the recording goes instead of the app\'s bucket. A string: a pre-signed PUT URL (http or https) — the MP4 alone is PUT there in one request: one object, at most 5 GB; an URL that expires before the upload fails with `output_expired` and the recording is kept on the server. An object: `{ "url": "s3://<bucket>/<prefix>/", "auth": { "key", "secret" } }` (in-line keys, sealed at rest, never returned or logged), `{ "url": "s3://…", "credential": "CR…" }` (a stored credential) or `{ "url": "s3://…" }` (the app\'s credentials) — the whole recording (MP4 parts, HLS, previews, sidecar) goes there through the upload queue; `endpoint`, `region`, `forcePathStyle` default to the app\'s `s3` settings.',
  ),
);

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
          202: ok('starting'),
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
        responses: { 200: ok('the reports'), 404: E.e404, 422: E.e422 },
      }),
    },
  };
}
