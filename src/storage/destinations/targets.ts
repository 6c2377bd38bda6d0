/**
 * S3 targets of destinations: a destination is the app's settings with the
 * destination's bucket, prefix (and endpoint, region, path style when given)
 * and credentials, built by a `TargetResolver` of its own (so the app's
 * client, which may be uploading, is never touched). In-line keys are
 * handed to the resolver under a made-up credential id that names only the
 * key's hint; the store never sees them.
 */
import { createHash } from 'node:crypto';
import type { AppSettings } from '../../config/schema.js';
import type { CredentialStore } from '../../db/types.js';
import { accessKeyIdHint } from '../../db/key-hint.js';
import { TargetResolver, type S3Target } from '../targets/targets.js';
import { validateStorage, type ValidationReport } from '../validation/validate.js';
import type { S3DestinationSpec } from './output.js';

export interface DestinationTargetsOptions {
  credentials?: CredentialStore;
  localRoot: string;
  inactivityTimeoutMs?: number;
}

export class DestinationTargets {
  private readonly resolver: TargetResolver;
  private readonly inline = new Map<string, { accessKeyId: string; secretAccessKey: string }>();

  constructor(private readonly o: DestinationTargetsOptions) {
    this.resolver = new TargetResolver({ credentials: this.store(), localRoot: o.localRoot, inactivityTimeoutMs: o.inactivityTimeoutMs });
  }

  /** The credential store as the resolver sees it: in-line keys by their made-up id, the real store for the rest. */
  private store(): CredentialStore {
    const real = this.o.credentials;
    const reveal = async (id: string) => this.inline.get(id) ?? (real ? real.reveal(id) : undefined);
    return { ...(real ?? ({} as CredentialStore)), reveal } as CredentialStore;
  }

  /** The app's settings as they would be with a destination in place of its bucket. */
  settingsFor(app: AppSettings, spec: S3DestinationSpec): AppSettings {
    const c = spec.credential;
    let credentials: AppSettings['s3']['credentials'];
    if (c.source === 'inline') {
      const digest = createHash('sha256').update(`${c.accessKeyId}\0${c.secretAccessKey}`).digest('hex').slice(0, 12);
      const id = `in-line keys ${accessKeyIdHint(c.accessKeyId)} #${digest}`;
      this.inline.set(id, { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey });
      credentials = { source: 'stored', credentialId: id };
    } else if (c.source === 'stored') {
      credentials = { source: 'stored', credentialId: c.credentialId };
    } else {
      credentials = app.s3.credentials;
    }
    const s3 = {
      ...app.s3,
      bucket: spec.bucket,
      prefix: spec.prefix,
      endpoint: spec.endpoint ?? app.s3.endpoint,
      region: spec.region ?? app.s3.region,
      forcePathStyle: spec.forcePathStyle ?? app.s3.forcePathStyle,
      credentials,
    };
    const fingerprint = createHash('sha256').update(JSON.stringify(s3)).digest('hex').slice(0, 16);
    return { ...app, name: `${app.name}→${fingerprint}`, s3 };
  }

  /** The S3 target of a destination for an app (cached per destination). */
  async resolve(app: AppSettings, spec: S3DestinationSpec): Promise<S3Target> {
    const t = await this.resolver.resolve(this.settingsFor(app, spec));
    if (t.kind !== 's3') throw new Error('a destination is always a bucket');
    return { ...t, app: app.name };
  }

  /** The write/read/delete probe of storage validation, on a destination. */
  async validate(app: AppSettings, spec: S3DestinationSpec): Promise<ValidationReport> {
    const resolver = new TargetResolver({ credentials: this.store(), localRoot: this.o.localRoot, inactivityTimeoutMs: this.o.inactivityTimeoutMs });
    try {
      const report = await validateStorage(this.settingsFor(app, spec), resolver);
      return { ...report, app: app.name };
    } finally {
      resolver.close();
    }
  }

  close(): void {
    this.resolver.close();
  }
}
