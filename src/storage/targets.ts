/**
 * Where an app's files go: its bucket, region, endpoint, key prefix and a
 * ready S3 client, from the app's current settings. Clients are cached per
 * app and rebuilt when the settings change. An app without a bucket uses the
 * embedded store, under a prefix named after the app.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { fromNodeProviderChain, fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import type { AppSettings } from '../config/schema.js';
import type { S3Settings } from '../config/storage-schema.js';
import type { CredentialStore } from '../store/types.js';
import { errorMessage } from '../errors.js';
import { StorageError, classifyS3Error, type ErrorContext } from './errors.js';
import { createS3Client } from './s3-client.js';
import type { EmbeddedEndpoint } from './embedded/embedded-s3.js';

export interface Target {
  app: string;
  /** True for the embedded loopback store. */
  embedded: boolean;
  bucket: string;
  region: string;
  endpoint?: string;
  forcePathStyle: boolean;
  /** Leading key prefix ('' for none). */
  prefix: string;
  settings: S3Settings;
  client: S3Client;
  /** Where the credentials come from, for reports (never the secret). */
  credentialSource: string;
}

/** The embedded store, as the resolver needs it. */
export interface EmbeddedStore {
  ensure(): Promise<EmbeddedEndpoint>;
}

export interface TargetResolverOptions {
  /** Stored credentials (`s3.credentials.source: "stored"`); absent in tools that do not open the store. */
  credentials?: CredentialStore;
  /** Started on first need, for apps without a bucket. */
  embedded: EmbeddedStore;
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
    hit?.target.then((t) => t.client.destroy()).catch(() => undefined);
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
    hit?.target.then((t) => t.client.destroy()).catch(() => undefined);
  }

  /** Closes every client. */
  close(): void {
    for (const name of [...this.cache.keys()]) this.invalidate(name);
  }

  private async build(app: AppSettings): Promise<Target> {
    const s = app.s3;
    if (!s.bucket) {
      const ep = await this.options.embedded.ensure();
      return {
        app: app.name,
        embedded: true,
        bucket: ep.bucket,
        region: ep.region,
        endpoint: ep.endpoint,
        forcePathStyle: true,
        prefix: s.prefix || app.name,
        settings: s,
        client: createS3Client(
          { region: ep.region, endpoint: ep.endpoint, forcePathStyle: true, credentials: { accessKeyId: ep.accessKeyId, secretAccessKey: ep.secretAccessKey }, checksumCalculation: s.checksumCalculation, inactivityTimeoutMs: this.inactivityMs }),
        credentialSource: 'embedded store',
      };
    }
    const { provider, source } = this.credentialsFor(s);
    return {
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
