/** OpenAPI paths: live streams, recordings, stored credentials, metrics. */
import { E, STREAM, T, ok, op, errorResponse, pathParam } from './openapi-ops.js';

export function mediaPaths(): Record<string, Record<string, unknown>> {
  return {
    '/api/v1/streams': {
      get: op({
        summary: 'Live streams (every protocol): this node\'s, and those live on other nodes of a cluster',
        description: '`elsewhere` lists streams published on other nodes sharing the database (their publish claims); always empty on SQLite, `null` while the database cannot be reached.',
        tags: T.streams,
        responses: {
          200: ok('streams'),
          503: E.e503db,
        },
      }),
    },
    '/api/v1/nodes': {
      get: op({
        summary: 'The nodes sharing this node\'s database, with their health',
        description: 'Each node writes a heartbeat every 2 s; one not seen for 10 s is not `alive`. On SQLite: this node only.',
        tags: T.streams,
        responses: {
          200: ok('nodes'),
          503: E.e503db,
        },
      }),
    },
    '/api/v1/streams/{app}/{streamId}': { get: op({ summary: 'One live stream', tags: T.streams, parameters: STREAM, responses: { 200: ok('the stream'), 404: E.e404 } }) },
    '/api/v1/streams/{app}/{streamId}/kick': {
      post: op({
        summary: 'Disconnect the publisher (on whichever node it is live)',
        description: 'Its recording is finalized as usual. An encoder that reconnects is accepted again unless its key is revoked. A stream live on another node of a cluster is kicked there (PostgreSQL NOTIFY); 504 `kick_timeout` when that node does not confirm within 10 s.',
        tags: T.streams,
        unsafe: true,
        parameters: STREAM,
        responses: {
          200: ok('disconnected'),
          404: E.e404,
          504: errorResponse('`kick_timeout`: the node holding the publisher did not confirm'),
        },
      }),
    },
    '/api/v1/streams/{app}/{streamId}/recording': {
      post: op({ summary: 'Start recording a live stream (at its next keyframe)', tags: T.streams, unsafe: true, parameters: STREAM, responses: { 202: ok('starting'), 404: E.e404, 409: errorResponse('`already_recording`') } }),
      delete: op({
        summary: 'Stop recording a live stream (it stays live); answers once the recording is final',
        tags: T.streams,
        unsafe: true,
        parameters: STREAM,
        responses: { 200: ok('stopped'), 404: E.e404, 409: errorResponse('`not_recording`') },
      }),
    },
    '/api/v1/recordings': {
      get: op({
        summary: 'Recordings (finished, and in progress when recorded in parts), newest first, each with its parts',
        tags: T.recs,
        responses: { 200: ok('a page'), 400: E.e400 },
      }),
    },
    '/api/v1/recordings/{id}': {
      get: op({ summary: 'One recording with its files, upload state and URLs', tags: T.recs, parameters: [pathParam('id', 'recording id')], responses: { 200: ok('the recording'), 404: E.e404 } }),
      delete: op({
        summary: 'Delete a recording: bucket objects, local files, catalog entry',
        description: 'The bucket first: when it refuses (no s3:DeleteObject) the answer is 403 `bucket_delete_denied` and nothing was deleted; `keepObjects=true` leaves the objects in the bucket.',
        tags: T.recs,
        unsafe: true,
        parameters: [pathParam('id', 'recording id')],
        responses: {
          200: ok('deleted'),
          403: errorResponse('`bucket_delete_denied` (or CSRF)'),
          404: E.e404,
          409: errorResponse('`upload_in_progress`, `recording_in_progress` (still recorded in parts), or `app_not_found` (its app is gone: use keepObjects)'),
          503: errorResponse('`bucket_unavailable`: try again'),
        },
      }),
    },
    '/api/v1/recordings/{id}/retry': {
      post: op({ summary: 'Queue the recording\'s failed uploads again, now', tags: T.recs, unsafe: true, parameters: [pathParam('id', 'recording id')], responses: { 200: ok('queued'), 404: E.e404 } }),
    },
    '/api/v1/credentials/aws': {
      get: op({
        summary: 'List stored AWS credentials (Twilio-style paging)',
        tags: T.creds,
        responses: {
          200: ok('a page'),
          400: E.e400,
        },
      }),
      post: op({
        summary: 'Store an AWS credential (encrypted); the secret is never returned',
        tags: T.creds,
        unsafe: true,
        responses: { 201: ok('stored'), 415: E.e415, 422: E.e422 },
      }),
    },
    '/api/v1/credentials/aws/{sid}': {
      get: op({ summary: 'Fetch a stored credential', tags: T.creds, parameters: [pathParam('sid', 'CR…')], responses: { 200: ok('the credential'), 404: E.e404 } }),
      post: op({
        summary: 'Rename (Twilio\'s update)',
        tags: T.creds,
        unsafe: true,
        parameters: [pathParam('sid', 'CR…')],
        responses: { 200: ok('renamed'), 404: E.e404, 422: E.e422 },
      }),
      patch: op({ summary: 'Rename (same as POST)', tags: T.creds, unsafe: true, parameters: [pathParam('sid', 'CR…')], responses: { 200: ok('renamed'), 404: E.e404, 422: E.e422 } }),
      delete: op({ summary: 'Delete a stored credential', tags: T.creds, unsafe: true, parameters: [pathParam('sid', 'CR…')], responses: { 204: ok('deleted'), 404: E.e404, 409: errorResponse('`credential_in_use`: an application uses it') } }),
    },
    '/metrics': {
      get: op({
        summary: 'Prometheus metrics',
        description: 'An API token (Prometheus: `authorization: {credentials: <token>}`) or a session; no authentication with `api.metrics.public: true`.',
        tags: T.srv,
        responses: { 200: { description: 'text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } } },
      }),
    },
  };
}
