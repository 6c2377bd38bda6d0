/**
 * Deleting a recording everywhere: its objects in the bucket (unless kept),
 * its local files, then its catalog entry — in that order, so a refusal by
 * the bucket (no `s3:DeleteObject`) leaves everything as it was and the
 * request can be repeated once the permission is granted (S3 deletes are
 * idempotent), or repeated with `keepObjects` to leave the objects alone.
 */
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import type { AppLookup } from '../../apps/app-registry.js';
import type { Logger } from '../../log/logger.js';
import type { RecordingCatalog } from '../../db/types.js';
import { AppError } from '../../errors.js';
import { classifyS3Error } from '../targets/errors.js';
import { deleteLocalCopy } from '../targets/local-files.js';
import { LOCAL_BUCKET, contextOf, type TargetResolver } from '../targets/targets.js';
import { deleteLocalObject } from '../targets/fs-target.js';
import type { Destinations } from '../destinations/index.js';

export interface RecordingDeletion {
  recordingId: string;
  /** Objects removed from the bucket. */
  objectsDeleted: number;
  /** Objects left in the bucket (`keepObjects`). */
  objectsKept: number;
  /** Local files removed. */
  localFilesDeleted: number;
}

export interface RecordingDeleteDeps {
  /** The recording and its files; its entry is removed last. */
  catalog: RecordingCatalog;
  /** The recording's app (its bucket client). */
  apps: AppLookup;
  /** App settings → S3 client. */
  resolver: TargetResolver;
  /** Local files are only ever deleted inside it. */
  dataDir: string;
  log: Logger;
  /** A recording in its own destination is deleted there; one delivered to a pre-signed URL is not ours to delete (issue 18). */
  destinations?: Destinations;
}

export async function deleteRecording(deps: RecordingDeleteDeps, recordingId: string, opts: { keepObjects?: boolean } = {}): Promise<RecordingDeletion> {
  const rec = await deps.catalog.getRecording(recordingId);
  if (!rec) throw new AppError('recording_not_found', `no recording "${recordingId}"`, 404);
  const log = deps.log.child({ app: rec.app, streamId: rec.streamId, recordingId });
  if (rec.files.some((f) => f.state === 'uploading')) {
    throw new AppError('upload_in_progress', 'a file of this recording is being uploaded right now; try again when the upload finished or failed', 409);
  }
  const delivered = deps.destinations?.presignedFor(recordingId) !== undefined;
  const objects = delivered ? [] : rec.files.filter((f) => f.state === 'uploaded' && f.bucket && f.key);
  const handedOver = delivered ? rec.files.filter((f) => f.state === 'uploaded').length : 0;
  let objectsDeleted = 0;
  if (objects.length && !opts.keepObjects) {
    const app = deps.apps.get(rec.app);
    if (!app) {
      throw new AppError('app_not_found', `application "${rec.app}" no longer exists, so its bucket cannot be reached; delete with keepObjects=true to leave the ${objects.length} object(s) in the bucket`, 409);
    }
    const t = (await deps.destinations?.s3TargetFor(recordingId, app)) ?? (await deps.resolver.resolve(app));
    for (const f of objects) {
      try {
        // The object's own bucket: the app's bucket may have changed since the upload.
        if (t.kind === 'fs' || f.bucket === LOCAL_BUCKET) {
          if (t.kind === 'fs' && f.bucket === LOCAL_BUCKET) await deleteLocalObject(t, f.key!);
          else throw new AppError('bucket_changed', `"${f.key}" is in "${f.bucket}", which is not the app's current storage; delete with keepObjects=true to leave it`, 409);
        } else await t.client.send(new DeleteObjectCommand({ Bucket: f.bucket, Key: f.key }));
        objectsDeleted++;
      } catch (err) {
        if (err instanceof AppError && err.code === 'bucket_changed') throw err;
        const e = classifyS3Error(err, { ...contextOf(t, 'delete', f.key), bucket: f.bucket! });
        log.warn({ code: e.code, err: e.message, key: f.key, deletedBefore: objectsDeleted }, 'deleting a recording: the bucket refused');
        if (e.code === 'access_denied') {
          throw new AppError(
            'bucket_delete_denied',
            `the bucket "${f.bucket}" refused to delete "${f.key}": the credentials need s3:DeleteObject on it. Nothing was deleted locally; grant the permission and delete again, or delete with keepObjects=true to leave the objects in the bucket`,
            403,
          );
        }
        if (e.retryable) throw new AppError('bucket_unavailable', `could not delete "${f.key}" from the bucket (${e.message}); nothing was deleted locally — try again`, 503);
        throw new AppError('bucket_delete_failed', `could not delete "${f.key}" from the bucket: ${e.message}; nothing was deleted locally`, 502);
      }
    }
  }
  let localFilesDeleted = 0;
  for (const f of rec.files) {
    if (!f.localPath || f.localDeletedAt) continue;
    await deleteLocalCopy(deps.dataDir, f.localPath);
    localFilesDeleted++;
  }
  await deps.catalog.deleteRecording(recordingId);
  deps.destinations?.book.forget(recordingId);
  const result = { recordingId, objectsDeleted, objectsKept: (opts.keepObjects ? objects.length : 0) + handedOver, localFilesDeleted };
  log.info(result, 'recording deleted');
  return result;
}
