/** OpenAPI paths: this document, auth, server, events, applications, publish security, webhooks. */
import { APP, E, T, ok, op, errorResponse, pathParam } from './openapi-ops.js';

export function adminPaths(): Record<string, Record<string, unknown>> {
  return {
    '/api/v1/openapi.json': { get: op({ summary: 'This document', tags: T.srv, open: true, responses: { 200: ok('OpenAPI 3.1') } }) },
    '/api/v1/auth/login': {
      post: op({
        summary: 'Log in (sets the session cookie)',
        description:
          'JSON only, and not from another site (Origin checked). Sets `bucketcast_session` (HttpOnly, SameSite=Strict, Secure behind TLS). Send `X-CSRF-Token: <csrfToken>` with every later POST/PUT/PATCH/DELETE. Failed logins are counted per address and per user; past the limit the answer is 429 with Retry-After, even for the right password.',
        tags: T.auth,
        open: true,
        responses: {
          200: ok('logged in'),
          401: errorResponse('`invalid_credentials`'),
          403: errorResponse('`origin_mismatch`'),
          415: E.e415,
          422: E.e422,
          429: { ...errorResponse('`too_many_attempts`: locked out'), headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'seconds' } } },
        },
      }),
    },
    '/api/v1/auth/logout': { post: op({ summary: 'End the session (clears the cookie)', tags: T.auth, unsafe: true, responses: { 204: ok('logged out') } }) },
    '/api/v1/auth/me': { get: op({ summary: 'Who am I (and the CSRF token again, after a reload)', tags: T.auth, responses: { 200: ok('the principal') } }) },
    '/api/v1/auth/password': {
      post: op({
        summary: 'Change the admin password',
        description: `At least 12 characters. Ends every other session of the user and revokes every API token. A wrong currentPassword counts as a failed login.`,
        tags: T.auth,
        unsafe: true,
        responses: { 200: ok('changed'), 403: errorResponse('`wrong_password` (or CSRF)'), 422: E.e422, 429: errorResponse('`too_many_attempts`') },
      }),
    },
    '/api/v1/auth/tokens': {
      get: op({ summary: 'List API tokens (never the tokens themselves)', tags: T.auth, responses: { 200: ok('tokens') } }),
      post: op({
        summary: 'Create an API token (shown only in this answer)',
        description: 'Scripts send it as `Authorization: Bearer <token>`; no CSRF header is needed then. `scope`: `read` (GET only), `admin` (everything, the default) or `metrics` (`/metrics` only); a token creates tokens of its own scope only. Other scopes answer 403 `insufficient_scope`.',
        tags: T.auth,
        unsafe: true,
        responses: { 201: ok('created'), 422: E.e422 },
      }),
    },
    '/api/v1/auth/tokens/{id}': { delete: op({ summary: 'Revoke an API token', tags: T.auth, unsafe: true, parameters: [pathParam('id', 'token id (tok_…)')], responses: { 204: ok('revoked'), 404: E.e404 } }) },
    '/api/v1/server': {
      get: op({ summary: 'Server facts for the panel', tags: T.srv, responses: { 200: ok('facts') } }),
    },
    '/api/v1/events': {
      get: op({
        summary: 'Live events (WebSocket)',
        description:
          'Upgrade to a WebSocket (session cookie, or Authorization: Bearer). Text messages `{type, data, at}` with type: hello, stream.started, stream.ended, stream.refused, recording.started, recording.part, recording.completed, upload.progress (≤1/s per file), upload.completed, upload.failed, recording.uploaded. `?app=` filters. Pings every 25 s; closed with 4401 when the session ends and 1001 on shutdown. A plain GET is answered 426.',
        tags: T.srv,
        responses: { 101: ok('switching to WebSocket'), 426: errorResponse('`upgrade_required`: not a WebSocket request') },
      }),
    },
    '/api/v1/applications': {
      get: op({ summary: 'List applications', tags: T.apps, responses: { 200: ok('applications') } }),
      post: op({
        summary: 'Create an application',
        description: 'Validated by the config file\'s schema; saved in the database and live at once.',
        tags: T.apps,
        unsafe: true,
        responses: { 201: ok('created'), 409: errorResponse('`app_exists`'), 415: E.e415, 422: E.e422 },
      }),
    },
    '/api/v1/applications/{name}': {
      get: op({ summary: 'Read an application', tags: T.apps, parameters: [APP], responses: { 200: ok('the application'), 404: E.e404 } }),
      put: op({
        summary: 'Replace an application\'s settings',
        description: 'Omitted keys take their defaults; `name` may be omitted but not changed. A webhook without `secret` keeps the secret of the webhook with the same URL. Applies to the next stream without a restart.',
        tags: T.apps,
        unsafe: true,
        parameters: [APP],
        responses: { 200: ok('replaced'), 404: E.e404, 415: E.e415, 422: E.e422 },
      }),
      patch: op({
        summary: 'Change some settings (JSON merge patch, RFC 7386)',
        description: 'Objects merge, `null` resets a key to its default, arrays (webhooks) replace. The result is validated whole.',
        tags: T.apps,
        unsafe: true,
        parameters: [APP],
        responses: { 200: ok('updated'), 404: E.e404, 415: E.e415, 422: E.e422 },
      }),
      delete: op({
        summary: 'Delete an application',
        description: 'Remembered in the database (a config-file app stays deleted). Its stream keys and signing secret go with it; its recordings stay in the catalog.',
        tags: T.apps,
        unsafe: true,
        parameters: [APP],
        responses: { 204: ok('deleted'), 404: E.e404, 409: errorResponse('`app_busy`: it has live streams') },
      }),
    },
    '/api/v1/applications/{name}/storage/validate': {
      post: op({
        summary: 'Test the storage settings (write, HEAD, read back, delete a test object)',
        description: 'Without a body: the saved settings. With a body (a merge patch like PATCH takes): the settings it would give, without saving them — the panel\'s "Test connection". Always 200 with the report.',
        tags: T.apps,
        unsafe: true,
        parameters: [APP],
        responses: { 200: ok('the report'), 404: E.e404, 422: E.e422 },
      }),
    },
    '/api/v1/applications/{name}/stream-keys': {
      get: op({ summary: 'List stream keys (never the keys)', tags: T.pub, parameters: [APP], responses: { 200: ok('keys'), 404: E.e404 } }),
      post: op({
        summary: 'Issue a stream key for a stream id (replaces its previous key)',
        description: 'The key is in this answer only. OBS: Server `rtmp://host:1935/<app>`, Stream Key `<streamId>?key=<key>`; WHIP: Bearer token.',
        tags: T.pub,
        unsafe: true,
        parameters: [APP],
        responses: { 201: ok('issued'), 404: E.e404, 422: E.e422 },
      }),
    },
    '/api/v1/applications/{name}/stream-keys/{streamId}': {
      delete: op({
        summary: 'Revoke a stream id\'s key',
        description: 'New publishes with it are refused; a live publisher is not cut (kick it).',
        tags: T.pub,
        unsafe: true,
        parameters: [APP, pathParam('streamId', 'stream id')],
        responses: { 204: ok('revoked'), 404: E.e404 },
      }),
    },
    '/api/v1/applications/{name}/signing-secret': {
      get: op({ summary: 'Whether the app has a token-signing secret (never the secret)', tags: T.pub, parameters: [APP], responses: { 200: ok('state'), 404: E.e404 } }),
      post: op({
        summary: 'Set the signing secret (random, or the one given); shown only in this answer',
        description: 'Tokens signed with the previous secret stop working.',
        tags: T.pub,
        unsafe: true,
        parameters: [APP],
        responses: { 201: ok('set'), 404: E.e404, 422: E.e422 },
      }),
    },
    '/api/v1/applications/{name}/publish-tokens': {
      post: op({
        summary: 'Mint a signed publish token for a stream id',
        description: 'token = `<expiry>.<hex HMAC-SHA256(secret, "<app>/<streamId>/<expiry>")>` (README: Publish security). Creates the signing secret first when the app has none.',
        tags: T.pub,
        unsafe: true,
        parameters: [APP],
        responses: { 201: ok('minted'), 404: E.e404, 422: E.e422 },
      }),
    },
    '/api/v1/applications/{name}/playback-tokens': {
      post: op({
        summary: 'Mint a viewing token (apps with playback.access "signed")',
        description:
          'Every media, forwarding and playback URL of a private app needs `?token=<token>`; playlists served by bucketcast carry it into their segment URIs. token = `<base64url JSON {a, e, p?, ip?}>.<base64url HMAC-SHA256>` signed with the app\'s viewing key (derived from the server key). A refused request gets 403 `token_required`, `token_invalid`, `token_expired`, `token_path` or `token_ip`.',
        tags: T.apps,
        unsafe: true,
        parameters: [APP],
        responses: {
          201: ok('minted'),
          404: E.e404,
          422: E.e422,
        },
      }),
    },
    '/api/v1/applications/{name}/webhooks/test': {
      post: op({
        summary: 'Send a `ping` event to one of the app\'s webhooks',
        tags: T.hooks,
        unsafe: true,
        parameters: [APP],
        responses: { 202: ok('queued'), 404: E.e404, 422: E.e422 },
      }),
    },
    '/api/v1/webhooks/deliveries': {
      get: op({
        summary: 'List webhook deliveries, newest first',
        tags: T.hooks,
        responses: { 200: ok('deliveries'), 400: E.e400 },
      }),
    },
    '/api/v1/webhooks/deliveries/{id}': {
      get: op({ summary: 'One delivery, with its body', tags: T.hooks, parameters: [pathParam('id', 'evt_…')], responses: { 200: ok('the delivery'), 404: E.e404 } }),
    },
    '/api/v1/webhooks/deliveries/{id}/retry': {
      post: op({ summary: 'Send a failed delivery again now', tags: T.hooks, unsafe: true, parameters: [pathParam('id', 'evt_…')], responses: { 200: ok('queued'), 404: E.e404, 409: errorResponse('`delivery_not_retryable`: already delivered') } }),
    },
  };
}
