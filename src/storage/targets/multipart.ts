/**
 * The S3 multipart calls, driven directly (tus-node-server's s3-store is the
 * model): create, upload one part, list the parts an upload holds, complete,
 * abort, and list incomplete uploads of a key. AWS errors that mean "this
 * upload no longer exists" (NoSuchUpload, 404) or "not allowed" (403) are
 * answered as values where the caller has a way on; everything else becomes
 * a classified StorageError here.
 *
 * Each part carries the Content-MD5 the reader thread computed (every S3
 * implementation checks it), is signed with an UNSIGNED-PAYLOAD hash (else the
 * SDK would SHA-256 every part on the event loop to sign it; the MD5 already
 * proves the bytes), and — with `checksumCalculation: WHEN_SUPPORTED` — carries
 * the CRC32 too, as a header (never the aws-chunked trailer some servers refuse).
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  UploadPartCommand,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { classifyS3Error } from './errors.js';
import { normalizeEtag } from './integrity.js';
import { crc32Base64 } from './confirm.js';
import type { ReadPart } from './part-reader.js';
import { contextOf, type S3Target } from './targets.js';

/** A part the service holds: number, size and ETag (unquoted, lower-case). */
export interface ListedPart {
  partNumber: number;
  size: number;
  etag: string;
}

/** What CompleteMultipartUpload answered. */
export interface CompleteAnswer {
  etag: string;
  checksumCrc32?: string;
  serverSideEncryption?: string;
}

/** ETags are not MD5s with SSE-KMS (set here, or the bucket's default as the answer says) and SSE-C. */
export function opaqueEtags(t: S3Target, answer: { ServerSideEncryption?: string; SSECustomerAlgorithm?: string }): boolean {
  return t.settings.sse.mode === 'aws:kms' || (answer.ServerSideEncryption ?? '').startsWith('aws:kms') || !!answer.SSECustomerAlgorithm;
}

function isGone(err: unknown): boolean {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchUpload' || e.Code === 'NoSuchUpload' || e.$metadata?.httpStatusCode === 404;
}

/** Not allowed (403), or not implemented by the service (s3rver answers ListParts with 405 MethodNotAllowed). */
function isDenied(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return ['AccessDenied', 'MethodNotAllowed', 'NotImplemented'].includes(e.name ?? '') || [403, 405, 501].includes(e.$metadata?.httpStatusCode ?? 0);
}

/** Sets a request header the SDK would otherwise compute (the payload hash) on one command. */
function withHeader<C extends { middlewareStack: { add: (...a: never[]) => void } }>(cmd: C, name: string, value: string | undefined): C {
  if (value === undefined) return cmd;
  (cmd.middlewareStack as unknown as { add: (mw: unknown, o: unknown) => void }).add(
    (next: (a: unknown) => Promise<unknown>) => async (args: { request?: { headers?: Record<string, string> } }) => {
      if (args.request?.headers) args.request.headers[name] = value;
      return next(args);
    },
    { step: 'build', name: `bucketcast-${name}` },
  );
  return cmd;
}

/** Starts a multipart upload with the object's parameters; returns its UploadId. */
export async function createUpload(t: S3Target, params: PutObjectCommandInput, signal?: AbortSignal): Promise<string> {
  try {
    const crc = t.settings.checksumCalculation === 'WHEN_SUPPORTED' ? { ChecksumAlgorithm: 'CRC32' as const } : {};
    const out = await t.client.send(new CreateMultipartUploadCommand({ ...params, ...crc }), { abortSignal: signal });
    if (!out.UploadId) throw new Error('CreateMultipartUpload answered no UploadId');
    return out.UploadId;
  } catch (err) {
    throw classifyS3Error(err, contextOf(t, 'upload', params.Key));
  }
}

/** Sends one part; returns the ETag the service answered (unquoted, lower-case). */
export async function sendPart(t: S3Target, key: string, uploadId: string, partNumber: number, part: ReadPart, signal?: AbortSignal): Promise<string> {
  const body = part.data!;
  const crc = t.settings.checksumCalculation === 'WHEN_SUPPORTED' && part.crc32 !== undefined ? { ChecksumCRC32: crc32Base64(part.crc32) } : {};
  const cmd = withHeader(
    new UploadPartCommand({ Bucket: t.bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: body.length, ContentMD5: part.md5, ...crc }),
    'x-amz-content-sha256',
    'UNSIGNED-PAYLOAD',
  );
  try {
    const out = await t.client.send(cmd, { abortSignal: signal });
    return normalizeEtag(out.ETag);
  } catch (err) {
    throw classifyS3Error(err, contextOf(t, 'upload', key));
  }
}

/**
 * The parts an upload holds (every page), 'gone' when the upload no longer
 * exists (aborted, or completed by an attempt that died before recording
 * it), 'denied' when the credentials may not list parts (write-only) or the
 * service cannot.
 */
export async function listParts(t: S3Target, key: string, uploadId: string, signal?: AbortSignal): Promise<ListedPart[] | 'gone' | 'denied'> {
  const parts: ListedPart[] = [];
  let marker: string | undefined;
  try {
    for (;;) {
      const out = await t.client.send(new ListPartsCommand({ Bucket: t.bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }), { abortSignal: signal });
      for (const p of out.Parts ?? []) {
        if (p.PartNumber !== undefined && p.Size !== undefined) parts.push({ partNumber: p.PartNumber, size: p.Size, etag: normalizeEtag(p.ETag) });
      }
      if (!out.IsTruncated || !out.NextPartNumberMarker) return parts;
      marker = String(out.NextPartNumberMarker);
    }
  } catch (err) {
    if (isGone(err)) return 'gone';
    if (isDenied(err)) return 'denied';
    throw classifyS3Error(err, contextOf(t, 'list parts', key));
  }
}

/** Completes an upload from its parts in order; 'gone' when the upload no longer exists. */
export async function completeUpload(
  t: S3Target,
  key: string,
  uploadId: string,
  parts: Array<{ partNumber: number; etag: string; crc32?: number }>,
  signal?: AbortSignal,
): Promise<CompleteAnswer | 'gone'> {
  const crc = t.settings.checksumCalculation === 'WHEN_SUPPORTED';
  try {
    const out = await t.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: t.bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: `"${p.etag}"`, ...(crc && p.crc32 !== undefined && { ChecksumCRC32: crc32Base64(p.crc32) }) })) },
      }),
      { abortSignal: signal },
    );
    return { etag: normalizeEtag(out.ETag), checksumCrc32: out.ChecksumCRC32, serverSideEncryption: out.ServerSideEncryption };
  } catch (err) {
    if (isGone(err)) return 'gone';
    throw classifyS3Error(err, contextOf(t, 'upload', key));
  }
}

/**
 * Aborts a multipart upload. Resolves 'aborted', 'gone' (already completed or
 * aborted) or 'denied' (the credentials may not abort: parts stay until a
 * lifecycle rule removes them); a retryable failure throws.
 */
export async function abortMultipart(t: S3Target, ref: { bucket: string; key: string; uploadId: string }, signal?: AbortSignal): Promise<'aborted' | 'gone' | 'denied'> {
  try {
    await t.client.send(new AbortMultipartUploadCommand({ Bucket: ref.bucket, Key: ref.key, UploadId: ref.uploadId }), { abortSignal: signal });
    return 'aborted';
  } catch (err) {
    const e = classifyS3Error(err, { ...contextOf(t, 'abort', ref.key), bucket: ref.bucket });
    if (isGone(err) || e.code === 'not_found') return 'gone';
    if (e.failureClass === 'permanent') return 'denied';
    throw e;
  }
}

/**
 * UploadIds of incomplete multipart uploads of exactly `key` (an attempt that
 * crashed before its UploadId was recorded). Empty when listing is not
 * allowed or not supported: this is a best-effort sweep.
 */
export async function incompleteUploads(t: S3Target, key: string): Promise<string[]> {
  try {
    const out = await t.client.send(new ListMultipartUploadsCommand({ Bucket: t.bucket, Prefix: key }));
    return (out.Uploads ?? []).filter((x) => x.Key === key && x.UploadId).map((x) => x.UploadId!);
  } catch {
    return [];
  }
}
