/**
 * Per-application publish security (`publishSecurity`): who may publish.
 * - `none`: anyone who knows the URL (the app and stream id rules still apply);
 * - `streamKeys`: a secret per stream id, issued and revoked through the API;
 * - `signedTokens`: an HMAC-SHA256 token over app, stream id and expiry, made
 *   with the app's signing secret (kept encrypted, created through the API).
 * RTMP carries the credential as `?key=` or `?token=` after the stream id (or
 * the app), WHIP as its `Authorization: Bearer` token.
 */
import { z } from 'zod';

export const PUBLISH_SECURITY_MODES = ['none', 'streamKeys', 'signedTokens'] as const;

export const publishSecuritySettings = z
  .strictObject({
    mode: z.enum(PUBLISH_SECURITY_MODES).default('none').describe('`none`, `streamKeys` or `signedTokens`.'),
    maxTokenLifetimeSeconds: z.number().int().min(60).max(31_536_000).default(86_400).describe('signedTokens: a token whose expiry is further away than this at publish time is refused (a leaked token must not work for years).'),
  })
  .prefault({});

/** Fields spread into `appSettings`. */
export const publishSecurityFields = {
  publishSecurity: publishSecuritySettings.describe('Who may publish to this app.'),
};

export type PublishSecuritySettings = z.output<typeof publishSecuritySettings>;
