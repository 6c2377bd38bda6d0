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
import { Fields, bodyObject, jsonBody, param, route, type Route } from './http.js';
import { publishUrls, type PublishUrlsOptions } from './publish-urls.js';

export interface PublishSecurityRoutesOptions extends PublishUrlsOptions {
  /** Issues keys, secrets and tokens. */
  credentials: PublishCredentials;
}

export function publishSecurityRoutes(o: PublishSecurityRoutesOptions): Route[] {
  const c = o.credentials;
  return [
    route('get', '/applications/:name/stream-keys', async (req) => ({ streamKeys: (await c.listStreamKeys(param(req, 'name'))).map(publicKey) })),
    route('post', '/applications/:name/stream-keys', jsonBody, async (req, res) => {
      const f = new Fields(bodyObject(req)).only('streamId');
      const streamId = f.string('streamId', { required: true });
      f.check();
      const app = param(req, 'name');
      const k = await c.issueStreamKey(app, streamId!);
      res.status(201);
      return { ...publicKey(k), key: k.key, replaced: k.replaced, publish: publishUrls(req, o, app, k.streamId, { param: 'key', value: k.key }) };
    }),
    route('delete', '/applications/:name/stream-keys/:streamId', async (req, res) => {
      await c.revokeStreamKey(param(req, 'name'), param(req, 'streamId'));
      res.status(204).end();
    }),
    route('get', '/applications/:name/signing-secret', async (req) => {
      const info = await c.signingSecretInfo(param(req, 'name'));
      return { exists: info !== undefined, createdAt: info?.createdAt ?? null };
    }),
    route('post', '/applications/:name/signing-secret', jsonBody, async (req, res) => {
      const body = bodyObject(req, true);
      new Fields(body).only('secret').check();
      const s = await c.rotateSigningSecret(param(req, 'name'), body.secret);
      res.status(201);
      return { secret: s.secret, createdAt: s.createdAt };
    }),
    route('post', '/applications/:name/publish-tokens', jsonBody, async (req, res) => {
      const body = bodyObject(req);
      new Fields(body).only('streamId', 'expiresInSeconds').check();
      const app = param(req, 'name');
      const t = await c.mintToken(app, body.streamId, body.expiresInSeconds);
      res.status(201);
      return { ...t, publish: publishUrls(req, o, app, t.streamId, { param: 'token', value: t.token }) };
    }),
  ];
}

function publicKey(k: { app: string; streamId: string; hint: string; createdAt: string; lastUsedAt?: string }) {
  return { app: k.app, streamId: k.streamId, hint: k.hint, createdAt: k.createdAt, lastUsedAt: k.lastUsedAt ?? null };
}
