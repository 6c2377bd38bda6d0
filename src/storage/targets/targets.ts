/**
 * Where an app's files go, from its current settings: an S3 target (bucket,
 * region, endpoint, key prefix and a ready client, cached per app and rebuilt
 * when the settings change), or — for an app without a bucket — the
 * embedded filesystem target: plain files under `<dataDir>/bucket/`, the
 * app's name as key prefix, the stable bucket name `local` in the catalog.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { fromNodeProviderChain, fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import type { AppSettings } from '../../config/schema.js';
import type { S3Settings } from '../../config/storage-schema.js';
import type { CredentialStore } from '../../db/types.js';
import { errorMessage } from '../../errors.js';
import { StorageError, classifyS3Error, type ErrorContext } from './errors.js';
import { createS3Client } from './s3-client.js';

/** The bucket name the catalog records for objects of the filesystem target. */
export const LOCAL_BUCKET = 'local';

/** What every target has. */
interface TargetBase {
  app: string;
  /** True for the embedded filesystem target. */
  embedded: boolean;
  bucket: string;
  region: string;
  endpoint?: string;
  forcePathStyle: boolean;
  /** Leading key prefix ('' for none). */
  prefix: string;
  settings: S3Settings;
  /** Where the credentials come from, for reports (never the secret). */
  credentialSource: string;
}

/** An S3 bucket. */
export interface S3Target extends TargetBase {
  kind: 's3';
  client: S3Client;
}

/** Plain files: the object `key` is the file `<root>/<key>`. */
export interface FsTarget extends TargetBase {
  kind: 'fs';
  root: string;
}

export type Target = S3Target | FsTarget;

export interface TargetResolverOptions {
  /** Stored credentials (`s3.credentials.source: "stored"`); absent in tools that do not open the store. */
  credentials?: CredentialStore;
  /** Root of the filesystem target, for apps without a bucket (`<dataDir>/bucket`). */
  localRoot: string;
  /** Milliseconds an S3 request may go without a byte before it is aborted (default 60 s). */
  inactivityTimeoutMs?: number;
}

/** Error context for a target (messages name bucket, region and endpoint). */
export function contextOf(t: Target, operation: string, key?: string): ErrorContext {
  return {
    operation,
    bucket: t.bucket,
    region: t.region,
    endpoint: t.endpoint,
    key,
    checksumCalculation: t.settings.checksumCalculation,
    sseMode: t.settings.sse.mode,
    kmsKeyId: t.settings.sse.kmsKeyId,
  };
}

function destroy(t: Target): void {
  if (t.kind === 's3') t.client.destroy();
}

export class TargetResolver {
  private readonly cache = new Map<string, { fingerprint: string; target: Promise<Target> }>();

  constructor(private readonly options: TargetResolverOptions) {}

  private get inactivityMs(): number {
    return this.options.inactivityTimeoutMs ?? 60_000;
  }

  /** The target for an app's current settings. */
  async resolve(app: AppSettings): Promise<Target> {
    const fingerprint = JSON.stringify(app.s3);
    const hit = this.cache.get(app.name);
    if (hit && hit.fingerprint === fingerprint) return hit.target;
    hit?.target.then(destroy).catch(() => undefined);
    const target = this.build(app);
    this.cache.set(app.name, { fingerprint, target });
    target.catch(() => {
      if (this.cache.get(app.name)?.target === target) this.cache.delete(app.name);
    });
    return target;
  }

  /** Drops an app's cached client (its settings changed). */
  invalidate(appName: string): void {
    const hit = this.cache.get(appName);
    this.cache.delete(appName);
    hit?.target.then(destroy).catch(() => undefined);
  }

  /** Closes every client. */
  close(): void {
    for (const name of [...this.cache.keys()]) this.invalidate(name);
  }

  private async build(app: AppSettings): Promise<Target> {
    const s = app.s3;
    if (!s.bucket) {
      return {
        kind: 'fs',
        app: app.name,
        embedded: true,
        bucket: LOCAL_BUCKET,
        region: 'local',
        forcePathStyle: true,
        prefix: s.prefix || app.name,
        settings: s,
        root: this.options.localRoot,
        credentialSource: 'local filesystem',
      };
    }
    const { provider, source } = this.credentialsFor(s);
    return {
      kind: 's3',
      app: app.name,
      embedded: false,
      bucket: s.bucket,
      region: s.region,
      endpoint: s.endpoint,
      forcePathStyle: s.forcePathStyle,
      prefix: s.prefix,
      settings: s,
      client: createS3Client({ region: s.region, endpoint: s.endpoint, forcePathStyle: s.forcePathStyle, credentials: provider, checksumCalculation: s.checksumCalculation, inactivityTimeoutMs: this.inactivityMs }),
      credentialSource: source,
    };
  }

  private credentialsFor(s: S3Settings): { provider: AwsCredentialIdentity | AwsCredentialIdentityProvider; source: string } {
    const c = s.credentials;
    let base: AwsCredentialIdentityProvider;
    let source: string;
    if (c.source === 'stored') {
      const store = this.options.credentials;
      const id = c.credentialId!;
      source = `stored credential ${id}`;
      base = async () => {
        if (!store) throw new StorageError('credential_not_found', `stored credential ${id} cannot be read here (no store open)`, 'permanent');
        let pair;
        try {
          pair = await store.reveal(id);
        } catch (err) {
          throw new StorageError('credential_unreadable', `stored credential ${id} cannot be decrypted: ${errorMessage(err)}`, 'permanent', { cause: err });
        }
        if (!pair) throw new StorageError('credential_not_found', `stored credential ${id} does not exist: store it again or fix s3.credentials.credentialId`, 'permanent');
        return pair;
      };
    } else {
      source = 'default credential chain';
      base = fromNodeProviderChain();
    }
    if (!c.roleArn) return { provider: base, source };
    const assume = fromTemporaryCredentials({
      params: { RoleArn: c.roleArn, ExternalId: c.externalId, RoleSessionName: 'bucketcast', DurationSeconds: 3600 },
      masterCredentials: base,
      clientConfig: { region: s.region, endpoint: c.stsEndpoint },
    });
    const roleArn = c.roleArn;
    // STS errors would otherwise read like the bucket's: say it was the role.
    const provider: AwsCredentialIdentityProvider = async (props) => {
      try {
        return await assume(props);
      } catch (err) {
        if (err instanceof StorageError) throw err;
        const e = classifyS3Error(err, { operation: 'assume role', bucket: s.bucket ?? '', region: s.region, endpoint: c.stsEndpoint });
        if (e.retryable) throw e;
        throw new StorageError('role_denied', `assuming role ${roleArn} failed (${errorMessage(err)}): check the role's trust policy, s3.credentials.externalId and the base credentials`, 'permanent', { cause: err });
      }
    };
    return { provider, source: `${source}, assuming ${c.roleArn}` };
  }
}
