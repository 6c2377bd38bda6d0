/**
 * Puts one object into a target and proves it arrived intact.
 *
 * 1. Hash the file once (SHA-256, MD5, MD5 per part; constant memory).
 * 2. Upload it with lib-storage from a file stream: one PUT when it fits in a
 *    part, else a multipart upload with `queueSize` parts in flight (memory
 *    about queueSize × part size, whatever the file's size). Each part carries
 *    its Content-MD5; the object carries `x-amz-meta-sha256`.
 * 3. Verify before anyone deletes anything: HEAD must show the size, our
 *    SHA-256 and (when it is MD5-based, i.e. not SSE-KMS) the expected ETag.
 *    When HEAD is denied (write-only policies), what the upload itself
 *    returned must confirm it (confirm.ts: checksum, ETag, part ETags, or
 *    with SSE-KMS the per-part Content-MD5 S3 checked); an upload nothing
 *    confirms fails as `unconfirmed` and its local copy stays.
 *
 * lib-storage cannot resume a multipart upload, so parts are never left on
 * purpose (`leavePartsOnError` only hands the clean-up to us): the caller
 * learns the UploadId as soon as it exists, records it, and aborts it when an
 * attempt fails or a crash interrupts it.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { AbortMultipartUploadCommand, HeadObjectCommand, ListMultipartUploadsCommand, type PutObjectCommandInput } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { StorageError, classifyS3Error } from './errors.js';
import { MiB, digestBuffer, hashFile, normalizeEtag, partSizeFor, type FileDigest } from './integrity.js';
import { confirmFromResponse, type UploadResponse } from './confirm.js';
import type { UploadTracker } from './s3-client.js';
import { contextOf, type Target } from './targets.js';

export interface ObjectUpload {
  target: Target;
  key: string;
  contentType: string;
  /** A file on disk, or bytes made in memory (the sidecar). */
  source: { path: string } | { data: Buffer };
  /** Extra `x-amz-meta-*` entries (sha256 is always added). */
  metadata?: Record<string, string>;
  tracker: UploadTracker;
  signal?: AbortSignal;
  onProgress?: (loaded: number, total: number) => void;
  /** Called with the UploadId before the first part is sent. */
  onMultipartCreated?: (uploadId: string) => void | Promise<void>;
  /**
   * Look first whether the object is already there with this very content (an
   * earlier attempt completed it, then the process died before recording that):
   * then it is not written again.
   */
  skipIfPresent?: boolean;
}

export interface VerifiedObject {
  size: number;
  sha256: string;
  etag: string;
  verifiedBy: 'head' | 'upload-response';
  /** What confirmed it: `head-sha256`, `head-size`, or from the upload's answer `checksum`, `etag`, `part-etags`, `content-md5`. */
  confirmedBy: string;
  parts: number;
  partSize: number;
}

/** Request parameters every object of a target carries (also used by storage validation). */
export function objectParams(t: Target, key: string, contentType: string, metadata: Record<string, string>): PutObjectCommandInput {
  const s = t.settings;
  return {
    Bucket: t.bucket,
    Key: key,
    ContentType: contentType,
    Metadata: metadata,
    ...(s.cacheControl && { CacheControl: s.cacheControl }),
    ...(s.storageClass && { StorageClass: s.storageClass as PutObjectCommandInput['StorageClass'] }),
    ...(s.acl && { ACL: s.acl }),
    ...(s.sse.mode !== 'none' && { ServerSideEncryption: s.sse.mode }),
    ...(s.sse.mode === 'aws:kms' && s.sse.kmsKeyId && { SSEKMSKeyId: s.sse.kmsKeyId }),
  };
}

/** Uploads and verifies; throws a classified `StorageError`. */
export async function uploadObject(u: ObjectUpload): Promise<VerifiedObject> {
  const { target: t, key } = u;
  const preferred = t.settings.partSizeMiB * MiB;
  let digest: FileDigest;
  try {
    if ('data' in u.source) digest = digestBuffer(u.source.data, partSizeFor(u.source.data.length, preferred));
    else digest = await hashFile(u.source.path, partSizeFor((await stat(u.source.path)).size, preferred), u.signal);
  } catch (err) {
    throw classifyS3Error(err, contextOf(t, 'read the local file', key));
  }

  if (u.skipIfPresent) {
    const etag = await presentWithContent(t, key, digest);
    if (etag !== undefined) {
      u.onProgress?.(digest.size, digest.size);
      return { size: digest.size, sha256: digest.sha256, etag, verifiedBy: 'head', confirmedBy: 'already-in-bucket', parts: digest.partMd5s.length, partSize: digest.partSize };
    }
  }

  const partEtags = new Map<number, string>();
  const unregister = u.tracker.register(t.bucket, key, { digest, onMultipartCreated: u.onMultipartCreated, partEtags });
  let answer: UploadResponse;
  try {
    const body = 'data' in u.source ? u.source.data : createReadStream(u.source.path, { highWaterMark: MiB });
    const upload = new Upload({
      client: t.client,
      params: { ...objectParams(t, key, u.contentType, { ...u.metadata, sha256: digest.sha256 }), Body: body, ContentLength: digest.size },
      partSize: digest.partSize,
      queueSize: t.settings.queueSize,
      leavePartsOnError: true,
    });
    if (u.onProgress) upload.on('httpUploadProgress', (p) => u.onProgress!(p.loaded ?? 0, digest.size));
    const onAbort = () => void upload.abort();
    u.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      // PutObject's answer for a single part, CompleteMultipartUpload's otherwise.
      const out = (await upload.done()) as { ETag?: string; ChecksumCRC32?: string; ServerSideEncryption?: string; SSECustomerAlgorithm?: string };
      answer = { etag: normalizeEtag(out.ETag), partEtags, checksumCrc32: out.ChecksumCRC32, opaqueEtags: opaqueEtags(t, out) };
    } finally {
      u.signal?.removeEventListener('abort', onAbort);
      if (!Buffer.isBuffer(body)) body.destroy();
    }
  } catch (err) {
    throw classifyS3Error(err, contextOf(t, 'upload', key));
  } finally {
    unregister();
  }
  const { verifiedBy, confirmedBy } = await verify(t, key, digest, answer);
  u.onProgress?.(digest.size, digest.size);
  return { size: digest.size, sha256: digest.sha256, etag: answer.etag, verifiedBy, confirmedBy, parts: digest.partMd5s.length, partSize: digest.partSize };
}

/**
 * The ETag of the object at `key` when it holds exactly this file (size and our
 * SHA-256 metadata), else undefined — also when HEAD is denied or fails: the
 * upload then simply goes ahead.
 */
async function presentWithContent(t: Target, key: string, d: FileDigest): Promise<string | undefined> {
  try {
    const head = await t.client.send(new HeadObjectCommand({ Bucket: t.bucket, Key: key }));
    return head.ContentLength === d.size && head.Metadata?.sha256 === d.sha256 ? normalizeEtag(head.ETag) : undefined;
  } catch {
    return undefined;
  }
}

/** ETags are not MD5s with SSE-KMS (set here, or the bucket's default as the answer says) and SSE-C. */
function opaqueEtags(t: Target, answer: { ServerSideEncryption?: string; SSECustomerAlgorithm?: string }): boolean {
  return t.settings.sse.mode === 'aws:kms' || (answer.ServerSideEncryption ?? '').startsWith('aws:kms') || !!answer.SSECustomerAlgorithm;
}

/** Confirms the object: HEAD when allowed, else the upload's own answer. */
async function verify(t: Target, key: string, d: FileDigest, answer: UploadResponse): Promise<{ verifiedBy: 'head' | 'upload-response'; confirmedBy: string }> {
  try {
    const head = await t.client.send(new HeadObjectCommand({ Bucket: t.bucket, Key: key }));
    if (head.ContentLength !== d.size) {
      throw new StorageError('integrity_mismatch', `the bucket holds ${head.ContentLength} bytes for "${key}", the file has ${d.size}; uploading again`, 'retryable');
    }
    const sha = head.Metadata?.sha256;
    if (sha !== undefined && sha !== d.sha256) throw new StorageError('integrity_mismatch', `"${key}" in the bucket has another SHA-256 than the file; uploading again`, 'retryable');
    // Size and SHA-256 are the proof; an ETag that can be compared must agree too.
    const c = confirmFromResponse(d, { etag: normalizeEtag(head.ETag), partEtags: new Map(), opaqueEtags: answer.opaqueEtags || opaqueEtags(t, head) });
    if (c.result === 'mismatch') throw new StorageError('integrity_mismatch', `"${key}" in the bucket: ${c.reason}; uploading again`, 'retryable');
    return { verifiedBy: 'head', confirmedBy: sha === undefined ? 'head-size' : 'head-sha256' };
  } catch (err) {
    const e = classifyS3Error(err, contextOf(t, 'head', key));
    if (e.code === 'not_found') throw new StorageError('not_visible', `"${key}" is not visible in the bucket right after its upload; uploading again`, 'retryable', { cause: err });
    if (e.code !== 'access_denied') throw e;
  }
  // Write-only credentials: the upload's answer is all we may see.
  const c = confirmFromResponse(d, answer);
  if (c.result === 'mismatch') throw new StorageError('integrity_mismatch', `the upload of "${key}" does not match the file: ${c.reason}; uploading again`, 'retryable');
  if (c.result === 'unconfirmed') {
    throw new StorageError(
      'unconfirmed',
      `the upload of "${key}" cannot be confirmed: HEAD is denied and ${c.reason}; the local copy is kept. Allow s3:GetObject on the prefix, or set s3.checksumCalculation to "WHEN_SUPPORTED" if the service returns checksums`,
      'permanent',
    );
  }
  return { verifiedBy: 'upload-response', confirmedBy: c.by };
}

/**
 * Aborts a multipart upload. Resolves 'aborted', 'gone' (already completed or
 * aborted) or 'denied' (the credentials may not abort: parts stay until a
 * lifecycle rule removes them); a retryable failure throws.
 */
export async function abortMultipart(t: Target, ref: { bucket: string; key: string; uploadId: string }, signal?: AbortSignal): Promise<'aborted' | 'gone' | 'denied'> {
  try {
    await t.client.send(new AbortMultipartUploadCommand({ Bucket: ref.bucket, Key: ref.key, UploadId: ref.uploadId }), { abortSignal: signal });
    return 'aborted';
  } catch (err) {
    const e = classifyS3Error(err, { ...contextOf(t, 'abort', ref.key), bucket: ref.bucket });
    if ((err as { name?: string }).name === 'NoSuchUpload' || e.code === 'not_found') return 'gone';
    if (e.failureClass === 'permanent') return 'denied';
    throw e;
  }
}

/**
 * UploadIds of incomplete multipart uploads of exactly `key` (an attempt that
 * crashed before its UploadId was recorded). Empty when listing is not
 * allowed or not supported: this is a best-effort sweep.
 */
export async function incompleteUploads(t: Target, key: string): Promise<string[]> {
  try {
    const out = await t.client.send(new ListMultipartUploadsCommand({ Bucket: t.bucket, Prefix: key }));
    return (out.Uploads ?? []).filter((x) => x.Key === key && x.UploadId).map((x) => x.UploadId!);
  } catch {
    return [];
  }
}
