/**
 * Read access to uploaded objects, for playback: where the catalog says a
 * served file name was uploaded (its real key, whatever the key template), and
 * pre-signed URLs for the app's bucket, and the file of an object stored by the
 * filesystem target. Implements what the forwarding module declares it needs
 * (`ObjectLocator`, `ObjectSigner`, `LocalObjectResolver`) without importing it.
 */
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { AppLookup } from '../apps/app-registry.js';
import type { FileKind } from '../events/types.js';
import type { RecordingCatalog } from '../db/types.js';
import { AppError } from '../errors.js';
import { LOCAL_BUCKET, type TargetResolver } from './targets/targets.js';
import { objectPath } from './targets/fs-target.js';
import type { Destinations } from './destinations/index.js';

const PREVIEW_KINDS: ReadonlySet<FileKind> = new Set(['preview', 'poster']);

export interface ObjectAccessOptions {
  catalog: RecordingCatalog;
  apps: AppLookup;
  /** Builds the app's S3 client (cached per app). */
  resolver: TargetResolver;
  /** Root of the filesystem target (`<dataDir>/bucket`). */
  localRoot: string;
  /** Recordings that went somewhere other than their app's bucket (issue 18). */
  destinations?: Destinations;
}

export class ObjectAccess {
  constructor(private readonly o: ObjectAccessOptions) {}

  /** The object a served file was uploaded as; undefined unless its upload is complete. */
  async locate(app: string, folder: 'streams' | 'previews', fileName: string): Promise<{ bucket: string; key: string; deliveredTo?: string; ownCredentials?: boolean } | undefined> {
    const f = await this.o.catalog.findFile(app, fileName);
    if (!f || f.state !== 'uploaded' || !f.bucket || !f.key) return undefined;
    // A name answers only under the folder its kind is served from.
    if ((folder === 'previews') !== PREVIEW_KINDS.has(f.kind)) return undefined;
    // A recording delivered to a pre-signed PUT URL: this server cannot read it back, only say where it went.
    const deliveredTo = this.o.destinations?.deliveredTo(f.recordingId);
    if (deliveredTo) return { bucket: f.bucket, key: f.key, deliveredTo };
    // A recording in its own destination's bucket: signed with that destination's credentials, never the app's base URL.
    if (this.o.destinations?.book.get(f.recordingId)?.spec?.kind === 's3') return { bucket: f.bucket, key: f.key, ownCredentials: true };
    return { bucket: f.bucket, key: f.key };
  }

  /** A pre-signed URL for one GET or HEAD on an object of the app's bucket. */
  async presign(r: { app: string; key: string; bucket?: string; method: 'GET' | 'HEAD'; expiresSeconds: number }): Promise<string> {
    const app = this.o.apps.get(r.app);
    if (!app) throw new AppError('app_not_found', `no application "${r.app}"`, 404);
    const own = r.bucket && r.bucket !== app.s3.bucket && r.bucket !== LOCAL_BUCKET ? await this.o.destinations?.targetForBucket(app, r.bucket) : undefined;
    if (own) {
      const input = { Bucket: own.bucket, Key: r.key };
      return getSignedUrl(own.client, r.method === 'HEAD' ? new HeadObjectCommand(input) : new GetObjectCommand(input), { expiresIn: r.expiresSeconds });
    }
    if (!app.s3RecordingEnabled && !app.s3.bucket) throw new AppError('no_bucket', `application "${r.app}" has no bucket configured`, 404);
    const target = await this.o.resolver.resolve(app);
    if (target.kind === 'fs' || r.bucket === LOCAL_BUCKET) throw new AppError('local_object', `"${r.key}" is a file of the local store, served from disk, not from a bucket`, 404);
    const input = { Bucket: r.bucket ?? target.bucket, Key: r.key };
    const command = r.method === 'HEAD' ? new HeadObjectCommand(input) : new GetObjectCommand(input);
    return getSignedUrl(target.client, command, { expiresIn: r.expiresSeconds });
  }

  /**
   * The absolute path of an object stored by the filesystem target (catalog
   * bucket `local`), else undefined: a bucket object, or a key that would
   * leave the store's folder.
   */
  localPath(app: string, bucket: string, key: string): string | undefined {
    if (bucket !== LOCAL_BUCKET || !this.o.apps.get(app)) return undefined;
    try {
      return objectPath(this.o.localRoot, key);
    } catch {
      return undefined;
    }
  }
}
