/**
 * One attempt at one leased file: clean up what an earlier attempt left
 * (recorded or listed multipart uploads), upload and verify, record the
 * result durably, then — in primary mode — delete the local copy. The order
 * matters: the local copy goes only after the catalog says "uploaded", so a
 * crash in between leaves a file the retention sweep deletes, never a lost one.
 */
import type { Logger } from '../log/logger.js';
import type { AppLookup } from '../apps/app-registry.js';
import type { FileRecord, RecordingCatalog, UploadJob, UploadQueue } from '../store/types.js';
import type { UploadCompleted } from '../events/types.js';
import { contentTypeFor } from '../http/content-types.js';
import { StorageError, classifyS3Error } from './errors.js';
import { renderKey, objectUrl, templateFolderFor } from './keys.js';
import { abortMultipart, incompleteUploads, uploadObject } from './object-uploader.js';
import type { UploadTracker } from './s3-client.js';
import { contextOf, type Target, type TargetResolver } from './targets.js';
import { buildSidecar } from './sidecar.js';
import { deleteLocalCopy } from './local-files.js';

export interface UploadJobDeps {
  /** Where jobs are leased, completed and failed. */
  queue: UploadQueue;
  /** Recordings and their files (sidecar contents, local deletions). */
  catalog: RecordingCatalog;
  /** Current app settings, looked up at every attempt. */
  apps: AppLookup;
  /** App settings → bucket, keys and S3 client. */
  resolver: TargetResolver;
  /** Hands part MD5s and UploadIds between the uploader and the client middlewares. */
  tracker: UploadTracker;
  /** This node's lease owner id. */
  nodeId: string;
  /** Local copies are only deleted inside it. */
  dataDir: string;
}

/** What the worker needs to report an attempt, filled in as the attempt goes. */
export interface AttemptState {
  target?: Target;
  key?: string;
  /** A multipart upload this attempt started and did not finish. */
  uploadId?: string;
}

/** The object key of a file in a target. */
export function keyFor(t: Target, job: UploadJob): string {
  const { file, recording } = job;
  return renderKey(t.prefix, t.settings.keyTemplates[templateFolderFor(file.kind)], {
    app: recording.app,
    streamId: recording.streamId,
    recordingId: recording.recordingId,
    startedAt: recording.startedAt,
    fileName: file.name,
  });
}

/** Content-Type of a file: the app's setting for its kind, else from its extension. */
export function contentTypeOf(t: Target, f: Pick<FileRecord, 'kind' | 'name'>): string {
  return t.settings.contentTypes[f.kind] ?? (f.kind === 'metadata' ? 'application/json' : contentTypeFor(f.name));
}

/** Runs the attempt; throws a classified error. */
export async function runUploadJob(
  job: UploadJob,
  deps: UploadJobDeps,
  state: AttemptState,
  opts: { signal: AbortSignal; log: Logger; onProgress: (loaded: number, total: number) => void },
): Promise<UploadCompleted> {
  const { file, recording } = job;
  const { log } = opts;
  const app = deps.apps.get(file.app);
  if (!app) throw new StorageError('app_removed', `application "${file.app}" no longer exists; the file is kept`, 'permanent');
  if (!app.s3RecordingEnabled) throw new StorageError('uploads_disabled', `uploads are off for "${file.app}" (s3RecordingEnabled is false); the file is kept`, 'permanent');
  const t = (state.target = await deps.resolver.resolve(app));
  const key = (state.key = keyFor(t, job));

  await cleanUpEarlierAttempts(job, t, key, deps, log);

  let source: { path: string } | { data: Buffer };
  if (file.kind === 'metadata') {
    const rec = await deps.catalog.getRecording(file.recordingId);
    source = { data: buildSidecar(recording, rec?.files ?? [], t.bucket, (f) => contentTypeOf(t, f)) };
  } else if (file.localPath) {
    source = { path: file.localPath };
  } else {
    throw new StorageError('local_file_missing', `no local path is known for ${file.name}`, 'permanent');
  }

  log.info({ bucket: t.bucket, key, attempt: file.attempts + 1, embedded: t.embedded }, 'upload started');
  const done = await uploadObject({
    target: t,
    key,
    contentType: contentTypeOf(t, file),
    source,
    metadata: { 'recording-id': file.recordingId },
    tracker: deps.tracker,
    signal: opts.signal,
    // Claimed before: an earlier attempt may have completed the object just before a crash.
    skipIfPresent: file.claims > 1,
    onProgress: opts.onProgress,
    onMultipartCreated: async (uploadId) => {
      state.uploadId = uploadId;
      await deps.queue.setMultipart(file.id, { uploadId, bucket: t.bucket, key });
      log.info({ uploadId, bucket: t.bucket, key }, 'multipart upload started');
    },
  });
  const url = objectUrl(t, key);
  await deps.queue.complete(file.id, deps.nodeId, { bucket: t.bucket, key, url, size: done.size, sha256: done.sha256, etag: done.etag, verifiedBy: done.verifiedBy });
  state.uploadId = undefined;

  let localDeleted = false;
  if (t.settings.storageMode === 'primary' && file.localPath) {
    try {
      localDeleted = await deleteLocalCopy(deps.dataDir, file.localPath);
      await deps.catalog.markLocalDeleted(file.id);
    } catch (err) {
      // The upload stands; the retention sweep tries again.
      log.warn({ err: (err as Error).message, path: file.localPath }, 'could not delete the local copy');
    }
  }
  log.info(
    { bucket: t.bucket, key, size: done.size, sha256: done.sha256, etag: done.etag, parts: done.parts, partSize: done.partSize, verifiedBy: done.verifiedBy, confirmedBy: done.confirmedBy, localDeleted },
    'upload completed',
  );
  return {
    app: file.app,
    recordingId: file.recordingId,
    streamId: recording.streamId,
    kind: file.kind,
    name: file.name,
    bucket: t.bucket,
    key,
    size: done.size,
    sha256: done.sha256,
    etag: done.etag,
    url,
    verifiedBy: done.verifiedBy,
    localDeleted,
  };
}

/**
 * Aborts multipart uploads an earlier attempt of this file left: the one
 * recorded in the catalog, and — when the file was claimed before — any
 * listed for its key (an UploadId a crash kept us from recording).
 */
async function cleanUpEarlierAttempts(job: UploadJob, t: Target, key: string, deps: UploadJobDeps, log: Logger): Promise<void> {
  const { file } = job;
  const refs = file.multipart ? [file.multipart] : [];
  if (file.claims > 1) {
    for (const uploadId of await incompleteUploads(t, key)) {
      if (!refs.some((r) => r.uploadId === uploadId)) refs.push({ uploadId, bucket: t.bucket, key });
    }
  }
  for (const ref of refs) {
    const outcome = await abortMultipart(t, ref);
    if (outcome === 'denied') log.warn({ uploadId: ref.uploadId, key: ref.key }, 'aborting an interrupted multipart upload was denied; its parts stay until a lifecycle rule removes them');
    else log.info({ uploadId: ref.uploadId, key: ref.key, outcome }, 'aborted an interrupted multipart upload');
  }
  if (file.multipart) await deps.queue.setMultipart(file.id, null);
}

/** After a failed attempt: abort the multipart upload it started (best effort; a failure keeps it recorded for the next attempt). */
export async function abortAfterFailure(fileId: number, state: AttemptState, deps: UploadJobDeps, log: Logger, signal?: AbortSignal): Promise<void> {
  if (!state.uploadId || !state.target || !state.key) return;
  const ref = { uploadId: state.uploadId, bucket: state.target.bucket, key: state.key };
  try {
    const outcome = await abortMultipart(state.target, ref, signal);
    if (outcome === 'denied') log.warn({ uploadId: ref.uploadId }, 'aborting the failed multipart upload was denied; its parts stay until a lifecycle rule removes them');
    else log.info({ uploadId: ref.uploadId, outcome }, 'aborted the failed multipart upload');
    await deps.queue.setMultipart(fileId, null);
  } catch (err) {
    log.warn({ uploadId: ref.uploadId, err: classifyS3Error(err, contextOf(state.target, 'abort', ref.key)).message }, 'could not abort the failed multipart upload yet; the next attempt will');
  }
}
