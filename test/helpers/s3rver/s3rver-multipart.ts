/**
 * s3rver 3 answers ListMultipartUploads (`GET /<bucket>?uploads`) and
 * AbortMultipartUpload (`DELETE /<bucket>/<key>?uploadId=`) with
 * NotImplemented / MethodNotAllowed, so interrupted uploads would pile up
 * in its `._S3rver_uploads` folder. This adds both operations, on its own
 * filesystem layout, behind its own signature check, so the embedded store
 * and the tests behave like S3 does.
 *
 * Its object and part writes are replaced too (`s3rver-writes.ts`).
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type S3rver from 's3rver';
import type { KoaContext } from 's3rver';
import authentication from 's3rver/lib/middleware/authentication.js';
import S3Error from 's3rver/lib/models/error.js';
import { guardWrites, noSuchUpload, uploadFolder } from './s3rver-writes.js';

/** An incomplete multipart upload in the store. */
export interface PendingUpload {
  key: string;
  uploadId: string;
  initiated: Date;
}

/** Incomplete multipart uploads of a bucket, read from s3rver's folder. */
export function pendingUploads(app: S3rver, bucket: string): PendingUpload[] {
  const dir = app.store.getResourcePath(bucket, undefined, 'uploads');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((id) => existsSync(path.join(dir, id, 'key')))
    .map((id) => ({ key: readFileSync(path.join(dir, id, 'key'), 'utf8'), uploadId: id, initiated: statSync(path.join(dir, id)).mtime }))
    .sort((a, b) => a.initiated.getTime() - b.initiated.getTime());
}

/** Adds the two operations to an s3rver instance, and its guarded writes; call before `run()`. */
export function addMultipartOperations(app: S3rver): void {
  guardWrites(app);
  const auth = authentication();
  const handler = async (ctx: KoaContext, next: () => Promise<void>) => {
    // Path-style: `/<bucket>/` (the SDK adds the slash) or `/<bucket>/<key>`.
    const m = /^\/([^/]+)(?:\/(.*))?$/.exec(ctx.path);
    const list = ctx.method === 'GET' && m && !m[2] && 'uploads' in ctx.query;
    const abort = ctx.method === 'DELETE' && m && m[2] && typeof ctx.query.uploadId === 'string';
    if (!m || (!list && !abort)) return next();
    const bucket = decodeURIComponent(m[1]);
    const key = m[2] ? m[2].split('/').map(decodeURIComponent).join('/') : undefined;
    ctx.params = { bucket, key };
    await auth(ctx, async () => {
      if (!(await ctx.store.getBucket(bucket))) throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
      if (list) {
        const prefix = ctx.query.prefix ?? '';
        const uploads = pendingUploads(app, bucket).filter((u) => u.key.startsWith(prefix));
        ctx.body = {
          ListMultipartUploadsResult: {
            Bucket: bucket,
            KeyMarker: '',
            UploadIdMarker: '',
            Prefix: prefix,
            MaxUploads: 1000,
            IsTruncated: false,
            Upload: uploads.map((u) => ({ Key: u.key, UploadId: u.uploadId, Initiated: u.initiated.toISOString(), StorageClass: 'STANDARD' })),
          },
        };
        return;
      }
      const dir = uploadFolder(app, bucket, ctx.query.uploadId);
      if (readFileSync(path.join(dir, 'key'), 'utf8') !== key) throw noSuchUpload(ctx.query.uploadId);
      rmSync(dir, { recursive: true, force: true });
      ctx.status = 204;
      ctx.body = '';
    });
  };
  // Before s3rver's router (the last middleware), after its logging, XML and vhost handling.
  app.middleware.splice(app.middleware.length - 1, 0, handler);
}
