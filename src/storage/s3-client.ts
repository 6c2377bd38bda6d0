/**
 * S3 clients for upload targets, each with two middlewares of ours:
 *
 * - Content-MD5 on every PutObject and UploadPart: the MD5 computed when the
 *   file was hashed (so S3 checks that what it received is what we hashed),
 *   or of the body itself for small in-memory objects. Every S3 implementation
 *   verifies it, whatever the flexible-checksum setting.
 * - The UploadId of every CreateMultipartUpload handed to whoever registered
 *   the key, before lib-storage sends the first part, so a crash never leaves
 *   a multipart upload we do not know about (lib-storage cannot resume one;
 *   the next attempt aborts it); and the ETag of every UploadPart, which
 *   confirms the upload when HEAD is denied and Complete's own ETag says
 *   nothing (Ceph radosgw 16 answers it empty).
 *
 * Checksum behaviour follows `s3.checksumCalculation` (the SDK's
 * requestChecksumCalculation / responseChecksumValidation). lib-storage
 * always sends parts as buffers, so even `WHEN_SUPPORTED` sends a CRC32
 * header, never the aws-chunked trailer some servers refuse.
 */
import { createHash } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import type { FileDigest } from './integrity.js';

/** What an upload in progress registers for its bucket + key. */
interface Tracked {
  digest?: FileDigest;
  onMultipartCreated?: (uploadId: string) => void | Promise<void>;
  /** Filled in as UploadPart answers arrive: the ETag of each part, by part number. */
  partEtags?: Map<number, string>;
}

/** Connects the client middlewares to the uploads in progress, by bucket and key. */
export class UploadTracker {
  private readonly byKey = new Map<string, Tracked>();

  /** Registers an upload; returns the function that forgets it. */
  register(bucket: string, key: string, t: Tracked): () => void {
    const k = `${bucket}\n${key}`;
    this.byKey.set(k, t);
    return () => {
      if (this.byKey.get(k) === t) this.byKey.delete(k);
    };
  }

  /** The MD5 the body of a PutObject (no part number) or UploadPart must have, when known. */
  expectedMd5(bucket: string, key: string, partNumber: number | undefined, bodyLength: number): Buffer | undefined {
    const d = this.byKey.get(`${bucket}\n${key}`)?.digest;
    if (!d) return undefined;
    if (partNumber === undefined) return d.partMd5s.length === 1 && bodyLength === d.size ? d.partMd5s[0] : undefined;
    const i = partNumber - 1;
    const expectedLength = i === d.partMd5s.length - 1 ? d.size - i * d.partSize : d.partSize;
    // A body of another length is not the part we hashed: let its own MD5 go (S3 still checks it).
    return bodyLength === expectedLength ? d.partMd5s[i] : undefined;
  }

  async created(bucket: string, key: string, uploadId: string): Promise<void> {
    const t = this.byKey.get(`${bucket}\n${key}`);
    t?.partEtags?.clear();
    await t?.onMultipartCreated?.(uploadId);
  }

  /** Notes the ETag an UploadPart answered (confirms the upload when HEAD is denied). */
  partUploaded(bucket: string, key: string, partNumber: number, etag: string | undefined): void {
    const t = this.byKey.get(`${bucket}\n${key}`);
    if (t?.partEtags && etag !== undefined) t.partEtags.set(partNumber, etag.replace(/"/g, '').trim().toLowerCase());
  }
}

export interface ClientSpec {
  region: string;
  /** S3-compatible endpoint; AWS when unset. */
  endpoint?: string;
  forcePathStyle: boolean;
  /** Fixed keys or a provider (default chain, stored credential, assumed role). */
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** The SDK's requestChecksumCalculation and responseChecksumValidation. */
  checksumCalculation: 'WHEN_REQUIRED' | 'WHEN_SUPPORTED';
  /** Milliseconds a request may go without a byte either way before it is aborted (retryable). */
  inactivityTimeoutMs: number;
}

interface BuildArgs {
  input: { Bucket?: string; Key?: string; PartNumber?: number };
  request?: { headers?: Record<string, string>; body?: unknown };
}

/** A client for one target, wired to the tracker. */
export function createS3Client(spec: ClientSpec, tracker: UploadTracker): S3Client {
  const client = new S3Client({
    region: spec.region,
    endpoint: spec.endpoint,
    forcePathStyle: spec.forcePathStyle,
    credentials: spec.credentials,
    requestChecksumCalculation: spec.checksumCalculation,
    responseChecksumValidation: spec.checksumCalculation,
    // Our queue retries with its own backoff; the SDK only smooths over single hiccups.
    maxAttempts: 3,
    // socketTimeout is the idle timeout (no byte either way): a stalled server fails the attempt
    // instead of hanging it. `requestTimeout` would bound a whole part upload on a slow link, and
    // without throwOnRequestTimeout it only prints a warning to the console.
    requestHandler: { connectionTimeout: 10_000, socketTimeout: spec.inactivityTimeoutMs },
  });

  client.middlewareStack.add(
    (next, context) => async (args) => {
      const cmd = context.commandName;
      const a = args as unknown as BuildArgs;
      const headers = a.request?.headers;
      const body = a.request?.body;
      if ((cmd === 'PutObjectCommand' || cmd === 'UploadPartCommand') && headers && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-md5')) {
        const length = body instanceof Uint8Array ? body.byteLength : typeof body === 'string' ? Buffer.byteLength(body) : -1;
        const partNumber = cmd === 'UploadPartCommand' ? a.input.PartNumber : undefined;
        let md5 = a.input.Bucket && a.input.Key ? tracker.expectedMd5(a.input.Bucket, a.input.Key, partNumber, length) : undefined;
        if (!md5 && (body instanceof Uint8Array || typeof body === 'string')) md5 = createHash('md5').update(body).digest();
        if (md5) headers['content-md5'] = md5.toString('base64');
      }
      return next(args);
    },
    { step: 'build', name: 'bucketcastContentMd5' },
  );

  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === 'CreateMultipartUploadCommand') {
        const input = args.input as { Bucket: string; Key: string };
        const uploadId = (result.output as { UploadId?: string }).UploadId;
        if (uploadId) await tracker.created(input.Bucket, input.Key, uploadId);
      } else if (context.commandName === 'UploadPartCommand') {
        const input = args.input as { Bucket: string; Key: string; PartNumber: number };
        tracker.partUploaded(input.Bucket, input.Key, input.PartNumber, (result.output as { ETag?: string }).ETag);
      }
      return result;
    },
    { step: 'initialize', name: 'bucketcastTrackMultipart' },
  );
  return client;
}
