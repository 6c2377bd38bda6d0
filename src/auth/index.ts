/**
 * The auth module for `main.ts`: admin authentication (a Lifecycle that
 * creates the admin account on first start) and publish security (the
 * authorizer the stream registry chains after the basic rules, and the
 * credentials the API issues).
 */
import type { AppLookup } from '../apps/app-registry.js';
import type { ApiSettings } from '../config/api-schema.js';
import type { Logger } from '../log/logger.js';
import type { AuthStore, PublishCredentialStore } from '../db/admin-types.js';
import { AuthService } from './auth-service.js';
import { PublishCredentials } from './publish-credentials.js';
import { PublishSecurityAuthorizer } from './publish-authorizer.js';

export { AuthService } from './auth-service.js';

export interface CreateAuthOptions {
  /** Where accounts, sessions, tokens and publish credentials are kept. */
  store: { auth: AuthStore; publishCredentials: PublishCredentialStore };
  /** Current applications (their publish security mode). */
  apps: AppLookup;
  /** The `api` config section. */
  settings: ApiSettings;
  /** `BUCKETCAST_ADMIN_PASSWORD`. */
  initialPassword?: string;
  /** The data dir (a generated admin password is written there, mode 0600). */
  dataDir?: string;
  log: Logger;
}

export function createAuth(o: CreateAuthOptions) {
  return {
    auth: new AuthService({ store: o.store.auth, settings: o.settings, initialPassword: o.initialPassword, dataDir: o.dataDir, log: o.log }),
    publishAuthorizer: new PublishSecurityAuthorizer({ apps: o.apps, store: o.store.publishCredentials }),
    publishCredentials: new PublishCredentials({ store: o.store.publishCredentials, apps: o.apps, log: o.log }),
  };
}
