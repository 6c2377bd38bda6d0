/**
 * Puts one object into an S3 target and proves it arrived intact.
 *
 * 1. The file is read once, in the reader thread (part-reader.ts), and each
 *    part hashed as it is read: MD5 (Content-MD5) and, with flexible checksums,
 *    CRC32, while the object's SHA-256 builds up. A file
 *    that fits in one part goes in one PUT that carries `x-amz-meta-sha256`;
 *    a larger one as a multipart upload (multipart-upload.ts) with
 *    `queueSize` parts in flight: memory is about queueSize × part size,
 *    whatever the file's size. Its SHA-256 is known only once the last part
 *    was read, after the upload was created: it goes to the catalog, the
 *    event and the sidecar, not into the object's metadata.
 * 2. A multipart upload is resumable: its UploadId and each acknowledged part
 *    are recorded (MultipartJournal) as they happen, and a later attempt sends
 *    only the parts the service does not hold.
 * 3. Verify before anyone deletes anything: HEAD must show the size, our
 *    SHA-256 when the object carries it, and (when it is MD5-based, i.e. not
 *    SSE-KMS) the expected ETag. When HEAD is denied (write-only policies),
 *    what the upload itself returned must confirm it (confirm.ts: checksum,
 *    ETag, part ETags, or with SSE-KMS the per-part Content-MD5 S3 checked);
 *    an upload nothing confirms fails as `unconfirmed` and its local copy stays.
 */
import { HeadObjectCommand, PutObjectCommand, type PutObjectCommandInput } from '@aws-sdk/client-s3';
import { StorageError, classifyS3Error } from './errors.js';
import { MiB, digestBuffer, expectedEtag, normalizeEtag, partCount, partSizeFor, type FileDigest } from './integrity.js';
import { confirmFromResponse, crc32Base64, type UploadResponse } from './confirm.js';
import type { PartReader } from './part-reader.js';
import { uploadMultipart, type MultipartJournal } from './multipart-upload.js';
import { opaqueEtags } from './multipart.js';
import { contextOf, type S3Target, type Target } from './targets.js';
import { putLocalObject } from './fs-target.js';

export type { MultipartJournal } from './multipart-upload.js';

export interface ObjectUpload {
  target: Target;
  key: string;
  contentType: string;
  /** A file on disk, or bytes made in memory (the sidecar, always one PUT). */
  source: { path: string } | { data: Buffer };
  /** Extra `x-amz-meta-*` entries (sha256 is added to single-PUT objects). */
  metadata?: Record<string, string>;
  /** Reads and hashes files off the event loop. */
  reader: PartReader;
  /** Records and resumes multipart uploads; without it an upload starts afresh and is not recorded. */
  journal?: MultipartJournal;
  signal?: AbortSignal;
  /** Bytes the service acknowledged so far, of the total. */
  onProgress?: (loaded: number, total: number) => void;
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
  /** What confirmed it: `head-sha256`, `head-etag`, `head-size`, `already-in-bucket`, or from the upload's answer `checksum`, `etag`, `part-etags`, `content-md5`. */
  confirmedBy: string;
  parts: number;
  partSize: number;
  /** Parts found already uploaded by an earlier attempt (not sent again). */
  resumedParts: number;
}

/** Request parameters every object of a target carries (also used by storage validation). */
export function objectParams(t: Pick<Target, 'bucket' | 'settings'>, key: string, contentType: string, metadata: Record<string, string>): PutObjectCommandInput {
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
  if (u.target.kind === 'fs') {
    const d = await putLocalObject(u.target, u.key, u.source, u.reader, u.signal);
    u.onProgress?.(d.size, d.size);
    // Written under a temporary name, fsynced, renamed: the size checked after the rename is the filesystem's HEAD.
    return { size: d.size, sha256: d.sha256, etag: d.md5?.toString('hex') ?? '', verifiedBy: 'head', confirmedBy: 'fsync-rename', parts: 1, partSize: d.size, resumedParts: 0 };
  }
  return uploadS3({ ...u, target: u.target });
}

async function uploadS3(u: ObjectUpload & { target: S3Target }): Promise<VerifiedObject> {
  const { target: t, key } = u;
  const preferred = t.settings.partSizeMiB * MiB;
  if ('data' in u.source) return putWhole(u, u.source.data, digestBuffer(u.source.data, partSizeFor(u.source.data.length, preferred)));

  let file;
  try {
    file = await u.reader.open(u.source.path, { crc: t.settings.checksumCalculation === 'WHEN_SUPPORTED' });
  } catch (err) {
    throw classifyS3Error(err, contextOf(t, 'read the local file', key));
  }
  try {
    const recorded = u.journal?.recorded;
    const partSize = recorded?.ref.partSize && Math.ceil(file.size / recorded.ref.partSize) <= 10_000 ? recorded.ref.partSize : partSizeFor(file.size, preferred);
    if (partCount(file.size, partSize) > 1) {
      const r = await uploadMultipart({ ...u, file, partSize, params: objectParams(t, key, u.contentType, { ...u.metadata }), present: (d) => presentWithContent(t, key, d) });
      if (r.alreadyThere !== undefined) {
        u.onProgress?.(r.digest.size, r.digest.size);
        return { size: r.digest.size, sha256: r.digest.sha256, etag: r.alreadyThere, verifiedBy: 'head', confirmedBy: 'already-in-bucket', parts: r.digest.partMd5s.length, partSize, resumedParts: 0 };
      }
      const { verifiedBy, confirmedBy } = await verify(t, key, r.digest, r.answer);
      u.onProgress?.(r.digest.size, r.digest.size);
      return { size: r.digest.size, sha256: r.digest.sha256, etag: r.answer.etag, verifiedBy, confirmedBy, parts: r.digest.partMd5s.length, partSize, resumedParts: r.resumedParts };
    }
    // One part: read (and hashed) before it is sent, so the object can carry its SHA-256.
    if (recorded) await u.journal!.discard(recorded.ref);
    const part = await file.part(0, file.size, true);
    const whole = await file.finish();
    const md5 = Buffer.from(part.md5, 'base64');
    const digest: FileDigest = { size: whole.size, sha256: whole.sha256, partMd5s: [md5], partSize, md5, crc32: whole.crc32 };
    return await putWhole(u, part.data!, digest);
  } catch (err) {
    throw classifyS3Error(err, contextOf(t, 'upload', key));
  } finally {
    file.drop();
  }
}

/** One PutObject of bytes already hashed, then verification. */
async function putWhole(u: ObjectUpload & { target: S3Target }, body: Buffer, digest: FileDigest): Promise<VerifiedObject> {
  const { target: t, key } = u;
  const result = (r: { etag: string; verifiedBy: 'head' | 'upload-response'; confirmedBy: string }): VerifiedObject => {
    u.onProgress?.(digest.size, digest.size);
    return { size: digest.size, sha256: digest.sha256, ...r, parts: 1, partSize: digest.partSize, resumedParts: 0 };
  };
  if (u.skipIfPresent) {
    const etag = await presentWithContent(t, key, digest);
    if (etag !== undefined) return result({ etag, verifiedBy: 'head', confirmedBy: 'already-in-bucket' });
  }
  let answer: UploadResponse;
  try {
    const crc = t.settings.checksumCalculation === 'WHEN_SUPPORTED' && digest.crc32 !== undefined ? { ChecksumCRC32: crc32Base64(digest.crc32) } : {};
    const cmd = new PutObjectCommand({
      ...objectParams(t, key, u.contentType, { ...u.metadata, sha256: digest.sha256 }),
      Body: body,
      ContentLength: body.length,
      ContentMD5: digest.partMd5s[0].toString('base64'),
      ...crc,
    });
    // The object's SHA-256 is the payload hash: the SDK need not hash the body again to sign it.
    const sha = digest.sha256;
    cmd.middlewareStack.add(
      (next) => async (args) => {
        const req = args.request as { headers?: Record<string, string> };
        if (req.headers) req.headers['x-amz-content-sha256'] = sha;
        return next(args);
      },
      { step: 'build', name: 'bucketcastPayloadSha256' },
    );
    const out = await t.client.send(cmd, { abortSignal: u.signal });
    answer = { etag: normalizeEtag(out.ETag), partEtags: new Map(), checksumCrc32: out.ChecksumCRC32, opaqueEtags: opaqueEtags(t, out) };
  } catch (err) {
    throw classifyS3Error(err, contextOf(t, 'upload', key));
  }
  return result({ etag: answer.etag, ...(await verify(t, key, digest, answer)) });
}

/**
 * The ETag of the object at `key` when it holds exactly this file (size, and
 * our SHA-256 metadata or the ETag the parts give), else undefined — also
 * when HEAD is denied or fails: the upload then simply goes ahead.
 */
export async function presentWithContent(t: S3Target, key: string, d: FileDigest): Promise<string | undefined> {
  try {
    const head = await t.client.send(new HeadObjectCommand({ Bucket: t.bucket, Key: key }));
    if (head.ContentLength !== d.size) return undefined;
    const etag = normalizeEtag(head.ETag);
    if (head.Metadata?.sha256 !== undefined) return head.Metadata.sha256 === d.sha256 ? etag : undefined;
    return !opaqueEtags(t, head) && etag === expectedEtag(d) ? etag : undefined;
  } catch {
    return undefined;
  }
}

/** Confirms the object: HEAD when allowed, else the upload's own answer. */
async function verify(t: S3Target, key: string, d: FileDigest, answer: UploadResponse): Promise<{ verifiedBy: 'head' | 'upload-response'; confirmedBy: string }> {
  try {
    const head = await t.client.send(new HeadObjectCommand({ Bucket: t.bucket, Key: key }));
    if (head.ContentLength !== d.size) {
      throw new StorageError('integrity_mismatch', `the bucket holds ${head.ContentLength} bytes for "${key}", the file has ${d.size}; uploading again`, 'retryable');
    }
    const sha = head.Metadata?.sha256;
    if (sha !== undefined && sha !== d.sha256) throw new StorageError('integrity_mismatch', `"${key}" in the bucket has another SHA-256 than the file; uploading again`, 'retryable');
    // Size and SHA-256 (single PUT) or the ETag of the parts' MD5s (multipart) are the proof.
    const c = confirmFromResponse(d, { etag: normalizeEtag(head.ETag), partEtags: answer.partEtags, opaqueEtags: answer.opaqueEtags || opaqueEtags(t, head) });
    if (c.result === 'mismatch') throw new StorageError('integrity_mismatch', `"${key}" in the bucket: ${c.reason}; uploading again`, 'retryable');
    return { verifiedBy: 'head', confirmedBy: sha !== undefined ? 'head-sha256' : c.result === 'confirmed' ? 'head-etag' : 'head-size' };
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
