/**
 * Publish credentials of an application (its `publishSecurity.mode` decides
 * which are checked):
 * - stream keys: `GET|POST /applications/:name/stream-keys`,
 *   `DELETE /applications/:name/stream-keys/:streamId` — a new key is in the
 *   POST answer only (with the OBS and WHIP settings that use it);
 * - signed tokens: `GET|POST /applications/:name/signing-secret` (the secret
 *   is in the POST answer only) and `POST /applications/:name/publish-tokens`
 *   to mint a token for a stream id and lifetime.
 */
import type { PublishCredentials } from '../auth/publish-credentials.js';
import { param, route, type Route } from './http.js';
import { body, checkedLater, requiredText, isoDateTime, z } from './schema.js';
import { NewStreamKey, PublishToken, StreamKey } from './answers.js';
import { publishUrls, type PublishUrlsOptions } from './publish-urls.js';

export interface PublishSecurityRoutesOptions extends PublishUrlsOptions {
  /** Issues keys, secrets and tokens. */
  credentials: PublishCredentials;
}

export const StreamKeyBody = body({ streamId: requiredText({ description: 'letters, digits, ".", "-", "_"' }) });
export const SigningSecretBody = body({ secret: checkedLater({ type: 'string', minLength: 32, maxLength: 512, description: '32–512 characters; random (64 hex digits) when omitted' }) });
export const PublishTokenBody = body({
  streamId: checkedLater({ type: 'string', description: 'letters, digits, ".", "-", "_"' }, { required: true }),
  expiresInSeconds: checkedLater({ type: 'integer', minimum: 1, description: 'default 3600, at most publishSecurity.maxTokenLifetimeSeconds' }),
});

export function publishSecurityRoutes(o: PublishSecurityRoutesOptions): Route[] {
  const c = o.credentials;
  return [
    route({ method: 'get', path: '/applications/:name/stream-keys', responses: { 200: z.object({ streamKeys: z.array(StreamKey) }) }, handler: async (req) => ({ streamKeys: (await c.listStreamKeys(param(req, 'name'))).map(publicKey) }) }),
    route({
      method: 'post',
      path: '/applications/:name/stream-keys',
      body: StreamKeyBody,
      responses: { 201: NewStreamKey },
      handler: async (req, res, input) => {
        const { streamId } = input.body();
        const app = param(req, 'name');
        const k = await c.issueStreamKey(app, streamId);
        res.status(201);
        return { ...publicKey(k), key: k.key, replaced: k.replaced, publish: publishUrls(req, o, app, k.streamId, { param: 'key', value: k.key }) };
      },
    }),
    route({
      method: 'delete',
      path: '/applications/:name/stream-keys/:streamId',
      responses: { 204: null },
      handler: async (req, res) => {
        await c.revokeStreamKey(param(req, 'name'), param(req, 'streamId'));
        res.status(204).end();
      },
    }),
    route({
      method: 'get',
      path: '/applications/:name/signing-secret',
      responses: { 200: z.object({ exists: z.boolean(), createdAt: isoDateTime().nullable() }) },
      handler: async (req) => {
        const info = await c.signingSecretInfo(param(req, 'name'));
        return { exists: info !== undefined, createdAt: info?.createdAt ?? null };
      },
    }),
    route({
      method: 'post',
      path: '/applications/:name/signing-secret',
      body: SigningSecretBody,
      optionalBody: true,
      responses: { 201: z.object({ secret: z.string().describe('shown only in this answer'), createdAt: isoDateTime() }) },
      handler: async (req, res, input) => {
        // The secret's length is checked by the service (its message names the bounds).
        const s = await c.rotateSigningSecret(param(req, 'name'), input.body().secret);
        res.status(201);
        return { secret: s.secret, createdAt: s.createdAt };
      },
    }),
    route({
      method: 'post',
      path: '/applications/:name/publish-tokens',
      body: PublishTokenBody,
      responses: { 201: PublishToken },
      handler: async (req, res, input) => {
        // Checked by the service: the stream id's form and the app's maxTokenLifetimeSeconds.
        const b = input.body();
        const app = param(req, 'name');
        const t = await c.mintToken(app, b.streamId, b.expiresInSeconds);
        res.status(201);
        return { ...t, publish: publishUrls(req, o, app, t.streamId, { param: 'token', value: t.token }) };
      },
    }),
  ];
}

function publicKey(k: { app: string; streamId: string; hint: string; createdAt: string; lastUsedAt?: string }) {
  return { app: k.app, streamId: k.streamId, hint: k.hint, createdAt: k.createdAt, lastUsedAt: k.lastUsedAt ?? null };
}
