/**
 * Publish security, checked after the basic rules (`BasicPublishAuthorizer`'s
 * `next`), the same for RTMP (`?key=` / `?token=`) and WHIP (Bearer): the
 * credential arrives as `PublishRequest.token`. A refusal's reason says what is
 * wrong and never contains the credential (the registry logs it).
 */
import type { AppLookup } from '../apps/app-registry.js';
import type { PublishAuthorizer, PublishDecision, PublishRequest } from '../ingest/types.js';
import type { PublishCredentialStore } from '../db/admin-types.js';
import { verifyPublishToken } from './publish-tokens.js';
import { sameSecret, sha256 } from './secrets.js';

export interface PublishSecurityAuthorizerOptions {
  /** Current applications (their `publishSecurity`). */
  apps: AppLookup;
  /** Stream key hashes and signing secrets. */
  store: PublishCredentialStore;
  /** The clock (tests). */
  now?: () => number;
}

const refuse = (reason: string): PublishDecision => ({ ok: false, code: 'unauthorized', reason });

export class PublishSecurityAuthorizer implements PublishAuthorizer {
  constructor(private readonly o: PublishSecurityAuthorizerOptions) {}

  async authorize(req: PublishRequest): Promise<PublishDecision> {
    const app = this.o.apps.get(req.app);
    if (!app) return { ok: false, code: 'unknown_app', reason: `unknown application "${req.app}"` };
    const { mode, maxTokenLifetimeSeconds } = app.publishSecurity;
    if (mode === 'none') return { ok: true };
    const token = req.token;
    if (mode === 'streamKeys') {
      if (!token) return refuse(`a stream key is required: publish to "${req.streamId}?key=<stream key>" (RTMP) or send it as the Bearer token (WHIP)`);
      const hash = await this.o.store.streamKeyHash(req.app, req.streamId);
      if (!hash) return refuse(`no stream key is issued for stream id "${req.streamId}"`);
      if (!sameSecret(sha256(token), hash)) return refuse('wrong stream key');
      void this.o.store.touchStreamKey(req.app, req.streamId, new Date(this.now()).toISOString()).catch(() => undefined);
      return { ok: true };
    }
    if (!token) return refuse(`a signed token is required: publish to "${req.streamId}?token=<expiry>.<signature>" (RTMP) or send it as the Bearer token (WHIP)`);
    const secret = await this.o.store.signingSecret(req.app);
    if (!secret) return refuse('the application has no signing secret yet (create one through the API)');
    const check = verifyPublishToken(secret.secret, req.app, req.streamId, token, Math.floor(this.now() / 1000), maxTokenLifetimeSeconds);
    return check.ok ? { ok: true } : refuse(check.reason);
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }
}
