/**
 * Publish credentials of applications: stream keys (a random `sk_…` secret
 * per stream id, shown once, stored as SHA-256) and the signing secret of
 * signed tokens (random or given, stored encrypted), plus minting tokens.
 * The API issues and revokes through this; the publish authorizer checks
 * against the same store.
 */
import { randomBytes } from 'node:crypto';
import type { AppLookup } from '../apps/app-registry.js';
import type { Logger } from '../log/logger.js';
import type { PublishCredentialStore, StreamKeyRecord } from '../db/admin-types.js';
import { AppError, ValidationError } from '../errors.js';
import { streamIdProblem } from '../config/stream-id.js';
import { hintOf, newSecret, sha256 } from './secrets.js';
import { signPublishToken } from './publish-tokens.js';

/** Prefix of stream keys. */
export const STREAM_KEY_PREFIX = 'sk_';
/** Shortest signing secret an operator may set. */
export const MIN_SIGNING_SECRET = 32;

export interface PublishCredentialsOptions {
  /** Where keys (hashed) and secrets (encrypted) are kept. */
  store: PublishCredentialStore;
  /** Current applications (only existing ones get credentials). */
  apps: AppLookup;
  log: Logger;
  /** The clock (tests). */
  now?: () => number;
}

export class PublishCredentials {
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(private readonly o: PublishCredentialsOptions) {
    this.log = o.log.child({ module: 'publish-security' });
    this.now = o.now ?? Date.now;
  }

  /** Issues a stream key (replacing the stream id's previous one); the key is in the answer and nowhere else. */
  async issueStreamKey(app: string, streamId: string): Promise<StreamKeyRecord & { key: string; replaced: boolean }> {
    this.requireApp(app);
    const problem = typeof streamId === 'string' ? streamIdProblem(streamId) : 'required';
    if (problem) throw new ValidationError([{ path: 'streamId', message: problem }]);
    const replaced = (await this.o.store.streamKeyHash(app, streamId)) !== undefined;
    const key = newSecret(STREAM_KEY_PREFIX, 24);
    const record: StreamKeyRecord = { app, streamId, hint: hintOf(key), createdAt: new Date(this.now()).toISOString() };
    await this.o.store.putStreamKey(record, sha256(key));
    this.log.info({ app, streamId, replaced }, 'stream key issued');
    return { ...record, key, replaced };
  }

  listStreamKeys(app: string): Promise<StreamKeyRecord[]> {
    this.requireApp(app);
    return this.o.store.listStreamKeys(app);
  }

  async revokeStreamKey(app: string, streamId: string): Promise<void> {
    this.requireApp(app);
    if (!(await this.o.store.deleteStreamKey(app, streamId))) throw new AppError('stream_key_not_found', `no stream key is issued for "${streamId}" in "${app}"`, 404);
    this.log.info({ app, streamId }, 'stream key revoked');
  }

  /** Sets the app's signing secret (the given one, or a random one); tokens signed with the old one stop working. */
  async rotateSigningSecret(app: string, given?: unknown): Promise<{ secret: string; createdAt: string }> {
    this.requireApp(app);
    if (given !== undefined && (typeof given !== 'string' || given.length < MIN_SIGNING_SECRET || given.length > 512)) {
      throw new ValidationError([{ path: 'secret', message: `must be a string of ${MIN_SIGNING_SECRET} to 512 characters (or omitted for a random one)` }]);
    }
    const secret = (given as string | undefined) ?? randomBytes(32).toString('hex');
    const { createdAt } = await this.o.store.setSigningSecret(app, secret);
    this.log.info({ app, given: given !== undefined }, 'signing secret set');
    return { secret, createdAt };
  }

  /** When the app's signing secret was set, if it has one. */
  async signingSecretInfo(app: string): Promise<{ createdAt: string } | undefined> {
    this.requireApp(app);
    const s = await this.o.store.signingSecret(app);
    return s && { createdAt: s.createdAt };
  }

  /** Mints a signed token for a stream id (making the app's signing secret first when it has none). */
  async mintToken(app: string, streamId: unknown, expiresInSeconds: unknown): Promise<{ token: string; streamId: string; expiresAt: string }> {
    const settings = this.requireApp(app);
    const problems: Array<{ path: string; message: string }> = [];
    const idProblem = typeof streamId === 'string' ? streamIdProblem(streamId) : 'required (a string)';
    if (idProblem) problems.push({ path: 'streamId', message: idProblem });
    const max = settings.publishSecurity.maxTokenLifetimeSeconds;
    const ttl = expiresInSeconds === undefined ? Math.min(3600, max) : expiresInSeconds;
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > max) {
      problems.push({ path: 'expiresInSeconds', message: `must be a whole number of seconds from 1 to ${max} (publishSecurity.maxTokenLifetimeSeconds)` });
    }
    if (problems.length) throw new ValidationError(problems);
    const secret = (await this.o.store.signingSecret(app))?.secret ?? (await this.rotateSigningSecret(app)).secret;
    const expiresAt = Math.floor(this.now() / 1000) + (ttl as number);
    return { token: signPublishToken(secret, app, streamId as string, expiresAt), streamId: streamId as string, expiresAt: new Date(expiresAt * 1000).toISOString() };
  }

  private requireApp(app: string) {
    const settings = this.o.apps.get(app);
    if (!settings) throw new AppError('app_not_found', `no application "${app}"`, 404);
    return settings;
  }
}
