/** OpenAPI paths: this document, auth, server, events, applications, publish security, webhooks. */
import { APP, arr, bool, int, iso, json, nullable, obj, pathParam, queryParam, ref, str } from './openapi-schemas.js';
import { E, T, ok, op, errorResponse } from './openapi-ops.js';

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
        body: obj({ username: str('default "admin"'), password: str() }, ['password']),
        responses: {
          200: ok('logged in', obj({ user: obj({ username: str() }), csrfToken: str(), expiresAt: iso() })),
          401: errorResponse('`invalid_credentials`'),
          403: errorResponse('`origin_mismatch`'),
          415: E.e415,
          422: E.e422,
          429: { ...errorResponse('`too_many_attempts`: locked out'), headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'seconds' } } },
        },
      }),
    },
    '/api/v1/auth/logout': { post: op({ summary: 'End the session (clears the cookie)', tags: T.auth, unsafe: true, responses: { 204: ok('logged out') } }) },
    '/api/v1/auth/me': { get: op({ summary: 'Who am I (and the CSRF token again, after a reload)', tags: T.auth, responses: { 200: ok('the principal', ref('Me')) } }) },
    '/api/v1/auth/password': {
      post: op({
        summary: 'Change the admin password',
        description: `At least 12 characters. Ends every other session of the user and revokes every API token. A wrong currentPassword counts as a failed login.`,
        tags: T.auth,
        unsafe: true,
        body: obj({ currentPassword: str(), newPassword: str(undefined, { minLength: 12 }) }),
        responses: { 200: ok('changed', obj({ sessionsEnded: int(), tokensRevoked: int() })), 403: errorResponse('`wrong_password` (or CSRF)'), 422: E.e422, 429: errorResponse('`too_many_attempts`') },
      }),
    },
    '/api/v1/auth/tokens': {
      get: op({ summary: 'List API tokens (never the tokens themselves)', tags: T.auth, responses: { 200: ok('tokens', obj({ tokens: arr(ref('Token')) })) } }),
      post: op({
        summary: 'Create an API token (shown only in this answer)',
        description: 'Scripts send it as `Authorization: Bearer <token>`; no CSRF header is needed then. `scope`: `read` (GET only), `admin` (everything, the default) or `metrics` (`/metrics` only); a token creates tokens of its own scope only. Other scopes answer 403 `insufficient_scope`.',
        tags: T.auth,
        unsafe: true,
        body: obj({ name: str(undefined, { maxLength: 100 }), expiresInDays: int('1–3650; 90 when omitted'), scope: { type: 'string', enum: ['read', 'admin', 'metrics'] } }, ['name']),
        responses: { 201: ok('created', { allOf: [ref('Token'), obj({ token: str('bct_…') })] }), 422: E.e422 },
      }),
    },
    '/api/v1/auth/tokens/{id}': { delete: op({ summary: 'Revoke an API token', tags: T.auth, unsafe: true, parameters: [pathParam('id', 'token id (tok_…)')], responses: { 204: ok('revoked'), 404: E.e404 } }) },
    '/api/v1/server': {
      get: op({ summary: 'Server facts for the panel', tags: T.srv, responses: { 200: ok('facts', obj({ name: str(), version: str(), rtmpPort: int(), publicUrl: nullable(str()), uptimeSeconds: int(), time: iso() })) } }),
    },
    '/api/v1/events': {
      get: op({
        summary: 'Live events (WebSocket)',
        description:
          'Upgrade to a WebSocket (session cookie, or Authorization: Bearer). Text messages `{type, data, at}` with type: hello, stream.started, stream.ended, stream.refused, recording.started, recording.part, recording.completed, upload.progress (≤1/s per file), upload.completed, upload.failed, recording.uploaded. `?app=` filters. Pings every 25 s; closed with 4401 when the session ends and 1001 on shutdown. A plain GET is answered 426.',
        tags: T.srv,
        parameters: [queryParam('app', 'only events of this application')],
        responses: { 101: ok('switching to WebSocket'), 426: errorResponse('`upgrade_required`: not a WebSocket request') },
      }),
    },
    '/api/v1/applications': {
      get: op({ summary: 'List applications', tags: T.apps, responses: { 200: ok('applications', obj({ applications: arr(ref('Application')) })) } }),
      post: op({
        summary: 'Create an application',
        description: 'Validated by the config file\'s schema; saved in the database and live at once.',
        tags: T.apps,
        unsafe: true,
        body: ref('AppSettings'),
        responses: { 201: ok('created', ref('Application')), 409: errorResponse('`app_exists`'), 415: E.e415, 422: E.e422 },
      }),
    },
    '/api/v1/applications/{name}': {
      get: op({ summary: 'Read an application', tags: T.apps, parameters: [APP], responses: { 200: ok('the application', ref('Application')), 404: E.e404 } }),
      put: op({
        summary: 'Replace an application\'s settings',
        description: 'Omitted keys take their defaults; `name` may be omitted but not changed. A webhook without `secret` keeps the secret of the webhook with the same URL. Applies to the next stream without a restart.',
        tags: T.apps,
        unsafe: true,
        parameters: [APP],
        body: ref('AppSettings'),
        responses: { 200: ok('replaced', ref('Application')), 404: E.e404, 415: E.e415, 422: E.e422 },
      }),
      patch: op({
        summary: 'Change some settings (JSON merge patch, RFC 7386)',
        description: 'Objects merge, `null` resets a key to its default, arrays (webhooks) replace. The result is validated whole.',
        tags: T.apps,
        unsafe: true,
        parameters: [APP],
        body: { type: 'object', description: 'a merge patch of AppSettings' },
        responses: { 200: ok('updated', ref('Application')), 404: E.e404, 415: E.e415, 422: E.e422 },
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
        body: { type: 'object', description: 'optional merge patch of AppSettings' },
        bodyRequired: false,
        responses: { 200: ok('the report', ref('ValidationReport')), 404: E.e404, 422: E.e422 },
      }),
    },
    '/api/v1/applications/{name}/stream-keys': {
      get: op({ summary: 'List stream keys (never the keys)', tags: T.pub, parameters: [APP], responses: { 200: ok('keys', obj({ streamKeys: arr(ref('StreamKey')) })), 404: E.e404 } }),
      post: op({
        summary: 'Issue a stream key for a stream id (replaces its previous key)',
        description: 'The key is in this answer only. OBS: Server `rtmp://host:1935/<app>`, Stream Key `<streamId>?key=<key>`; WHIP: Bearer token.',
        tags: T.pub,
        unsafe: true,
        parameters: [APP],
        body: obj({ streamId: str() }),
        responses: { 201: ok('issued', ref('NewStreamKey')), 404: E.e404, 422: E.e422 },
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
      get: op({ summary: 'Whether the app has a token-signing secret (never the secret)', tags: T.pub, parameters: [APP], responses: { 200: ok('state', obj({ exists: bool(), createdAt: nullable(iso()) })), 404: E.e404 } }),
      post: op({
        summary: 'Set the signing secret (random, or the one given); shown only in this answer',
        description: 'Tokens signed with the previous secret stop working.',
        tags: T.pub,
        unsafe: true,
        parameters: [APP],
        body: obj({ secret: str('32–512 characters; random (64 hex digits) when omitted') }, []),
        bodyRequired: false,
        responses: { 201: ok('set', obj({ secret: str(), createdAt: iso() })), 404: E.e404, 422: E.e422 },
      }),
    },
    '/api/v1/applications/{name}/publish-tokens': {
      post: op({
        summary: 'Mint a signed publish token for a stream id',
        description: 'token = `<expiry>.<hex HMAC-SHA256(secret, "<app>/<streamId>/<expiry>")>` (README: Publish security). Creates the signing secret first when the app has none.',
        tags: T.pub,
        unsafe: true,
        parameters: [APP],
        body: obj({ streamId: str(), expiresInSeconds: int('default 3600, at most publishSecurity.maxTokenLifetimeSeconds') }, ['streamId']),
        responses: { 201: ok('minted', ref('PublishToken')), 404: E.e404, 422: E.e422 },
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
        body: obj(
          {
            expiresInSeconds: int('default 3600, at most playback.maxTokenLifetimeSeconds'),
            prefix: str('only paths after /<app>/ that start with this, e.g. "streams/cam1_20261204T101500Z"'),
            ip: str('only from this client address'),
          },
          [],
        ),
        bodyRequired: false,
        responses: {
          201: ok('minted', obj({ app: str(), access: str('public | signed'), token: str(), query: str('token=… to append to a media URL'), expiresAt: iso(), prefix: nullable(str()), ip: nullable(str()) })),
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
        body: obj({ url: str('which webhook (needed when the app has several)') }, []),
        bodyRequired: false,
        responses: { 202: ok('queued', ref('Delivery')), 404: E.e404, 422: E.e422 },
      }),
    },
    '/api/v1/webhooks/deliveries': {
      get: op({
        summary: 'List webhook deliveries, newest first',
        tags: T.hooks,
        parameters: [queryParam('app', 'application'), queryParam('state', 'pending | delivering | delivered | failed'), queryParam('limit', '1–500 (50)', { type: 'integer' }), queryParam('offset', 'skip this many', { type: 'integer' })],
        responses: { 200: ok('deliveries', obj({ deliveries: arr(ref('Delivery')), limit: int(), offset: int() })), 400: E.e400 },
      }),
    },
    '/api/v1/webhooks/deliveries/{id}': {
      get: op({ summary: 'One delivery, with its body', tags: T.hooks, parameters: [pathParam('id', 'evt_…')], responses: { 200: ok('the delivery', { allOf: [ref('Delivery'), obj({ body: { type: 'object' } })] }), 404: E.e404 } }),
    },
    '/api/v1/webhooks/deliveries/{id}/retry': {
      post: op({ summary: 'Send a failed delivery again now', tags: T.hooks, unsafe: true, parameters: [pathParam('id', 'evt_…')], responses: { 200: ok('queued', ref('Delivery')), 404: E.e404, 409: errorResponse('`delivery_not_retryable`: already delivered') } }),
    },
  };
}
