/**
 * One attempt at one leased file: resume the multipart upload an earlier
 * attempt recorded (abort ones it left unrecorded), upload and verify, record
 * the result durably, then — in primary mode — delete the local copy. The order
 * matters: the local copy goes only after the catalog says "uploaded", so a
 * crash in between leaves a file the retention sweep deletes, never a lost one.
 */
import type { Logger } from '../../log/logger.js';
import type { AppLookup } from '../../apps/app-registry.js';
import type { FileRecord, RecordingCatalog, UploadJob, UploadQueue } from '../../db/types.js';
import type { UploadCompleted } from '../../events/types.js';
import { contentTypeFor } from '../../http/content-types.js';
import { StorageError, classifyS3Error } from '../targets/errors.js';
import { renderKey, objectUrl, templateFolderFor } from '../targets/keys.js';
import { uploadObject, type MultipartJournal } from '../targets/object-uploader.js';
import { abortMultipart, incompleteUploads } from '../targets/multipart.js';
import type { PartReader } from '../targets/part-reader.js';
import { contextOf, type S3Target, type Target, type TargetResolver } from '../targets/targets.js';
import { buildSidecar } from './sidecar.js';
import { deleteLocalCopy } from '../targets/local-files.js';
import type { Destinations } from '../destinations/index.js';

export interface UploadJobDeps {
  /** Where jobs are leased, completed and failed. */
  queue: UploadQueue;
  /** Recordings and their files (sidecar contents, local deletions). */
  catalog: RecordingCatalog;
  /** Current app settings, looked up at every attempt. */
  apps: AppLookup;
  /** App settings → bucket, keys and S3 client. */
  resolver: TargetResolver;
  /** Reads and hashes files off the event loop. */
  reader: PartReader;
  /** This node's lease owner id. */
  nodeId: string;
  /** Local copies are only deleted inside it. */
  dataDir: string;
  /** Recordings that go somewhere other than their app's bucket (issue 18). */
  destinations?: Destinations;
  /** Resolves once the rows written so far survive a power cut (`Store.durable`). */
  durable: () => Promise<void>;
}

/** What the worker needs to report an attempt, filled in as the attempt goes. */
export interface AttemptState {
  target?: Target;
  key?: string;
  /** The multipart upload this attempt works on (started or resumed), until it completes. */
  uploadId?: string;
  /** The file goes to its recording's own destination, not the app's bucket: its failures are not the app's. */
  destination?: boolean;
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
  const presigned = deps.destinations?.presignedFor(file.recordingId);
  if (presigned) {
    state.destination = true;
    return deps.destinations!.deliverPresigned(job, presigned, deps, app, { ...opts, contentType: contentTypeFor(file.name) });
  }
  const own = await deps.destinations?.s3TargetFor(file.recordingId, app);
  if (own) state.destination = true;
  else if (!app.s3RecordingEnabled) throw new StorageError('uploads_disabled', `uploads are off for "${file.app}" (s3RecordingEnabled is false); the file is kept`, 'permanent');
  const t = (state.target = own ?? (await deps.resolver.resolve(app)));
  const key = (state.key = keyFor(t, job));

  // Only S3 targets have multipart uploads to resume; the filesystem target writes each object whole.
  const recorded = t.kind === 's3' ? await cleanUpEarlierAttempts(job, t, key, deps, log) : undefined;

  let source: { path: string } | { data: Buffer };
  if (file.kind === 'metadata') {
    const rec = await deps.catalog.getRecording(file.recordingId);
    source = { data: buildSidecar(recording, rec?.files ?? [], t.bucket, (f) => contentTypeOf(t, f)) };
  } else if (file.localPath) {
    source = { path: file.localPath };
  } else {
    throw new StorageError('local_file_missing', `no local path is known for ${file.name}`, 'permanent');
  }

  const journal: MultipartJournal = {
    recorded,
    started: async (ref) => {
      state.uploadId = ref.uploadId;
      await deps.queue.setMultipart(file.id, ref);
      log.info({ uploadId: ref.uploadId, bucket: ref.bucket, key: ref.key, partSize: ref.partSize }, 'multipart upload started');
    },
    partDone: async (uploadId, part) => {
      await deps.queue.addPart(file.id, uploadId, part);
      log.debug({ uploadId, partNumber: part.partNumber, size: part.size }, 'part uploaded');
    },
    discard: async (ref) => {
      const outcome = t.kind === 's3' ? await abortMultipart(t, ref).catch(() => 'failed') : 'gone';
      await deps.queue.setMultipart(file.id, null);
      state.uploadId = undefined;
      log.info({ uploadId: ref.uploadId, key: ref.key, outcome }, 'aborted an interrupted multipart upload');
    },
  };
  if (recorded) {
    state.uploadId = recorded.ref.uploadId;
    log.info({ uploadId: recorded.ref.uploadId, recordedParts: recorded.parts.length }, 'resuming a multipart upload');
  }

  log.info({ bucket: t.bucket, key, attempt: file.attempts + 1, embedded: t.embedded }, 'upload started');
  const done = await uploadObject({
    target: t,
    key,
    contentType: contentTypeOf(t, file),
    source,
    metadata: { 'recording-id': file.recordingId },
    reader: deps.reader,
    journal,
    signal: opts.signal,
    // Claimed before: an earlier attempt may have completed the object just before a crash.
    skipIfPresent: file.claims > 1,
    onProgress: opts.onProgress,
  });
  const url = objectUrl(t, key);
  await deps.queue.complete(file.id, deps.nodeId, { bucket: t.bucket, key, url, size: done.size, sha256: done.sha256, etag: done.etag, verifiedBy: done.verifiedBy });
  state.uploadId = undefined;

  let localDeleted = false;
  if (t.settings.storageMode === 'primary' && file.localPath) {
    try {
      // The row saying the object is verified must outlive a power cut before the only other copy goes.
      await deps.durable();
      localDeleted = await deleteLocalCopy(deps.dataDir, file.localPath);
      await deps.catalog.markLocalDeleted(file.id);
    } catch (err) {
      // The upload stands; the retention sweep tries again.
      log.warn({ err: (err as Error).message, path: file.localPath }, 'could not delete the local copy');
    }
  }
  log.info(
    { bucket: t.bucket, key, size: done.size, sha256: done.sha256, etag: done.etag, parts: done.parts, partSize: done.partSize, resumedParts: done.resumedParts, verifiedBy: done.verifiedBy, confirmedBy: done.confirmedBy, localDeleted },
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
 * What an earlier attempt of this file left: its recorded multipart upload is
 * handed back to be resumed (with the parts recorded for it); any other
 * incomplete upload listed for the key (an UploadId a crash kept us from
 * recording) is aborted.
 */
async function cleanUpEarlierAttempts(job: UploadJob, t: S3Target, key: string, deps: UploadJobDeps, log: Logger): Promise<MultipartJournal['recorded']> {
  const { file } = job;
  const ref = file.multipart;
  if (file.claims > 1) {
    for (const uploadId of await incompleteUploads(t, key)) {
      if (ref?.uploadId === uploadId) continue;
      const outcome = await abortMultipart(t, { uploadId, bucket: t.bucket, key });
      if (outcome === 'denied') log.warn({ uploadId, key }, 'aborting an interrupted multipart upload was denied; its parts stay until a lifecycle rule removes them');
      else log.info({ uploadId, key, outcome }, 'aborted an interrupted multipart upload');
    }
  }
  if (!ref) return undefined;
  return { ref, parts: await deps.queue.parts(file.id, ref.uploadId) };
}

/**
 * After a permanent failure: abort the multipart upload (it cannot finish;
 * best effort, a failure keeps it recorded for the next attempt). Retryable
 * failures keep it, to be resumed.
 */
export async function abortAfterFailure(fileId: number, state: AttemptState, deps: UploadJobDeps, log: Logger, signal?: AbortSignal): Promise<void> {
  if (!state.uploadId || state.target?.kind !== 's3' || !state.key) return;
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
