/**
 * Delivery to a pre-signed PUT URL (seed 003's "writable location"): the
 * whole MP4 in one PUT request — one object, at most 5 GB (S3's limit for a
 * single PUT; a pre-signed URL cannot start a multipart upload). The URL's
 * expiry is checked before sending a byte: an expired URL is a permanent
 * `output_expired` failure and the local copy is kept. SigV4 URLs get a
 * Content-MD5 (the server checks the bytes) and the file's Content-Type;
 * SigV2 URLs sign both, so neither is added. The answer's ETag, when it is
 * the MD5 of what was sent, confirms the upload.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { StorageError } from '../targets/errors.js';
import { PRESIGNED_PUT_MAX_BYTES, isSigV2, presignedExpiry, publicUrl } from './output.js';

export interface PresignedPutResult {
  size: number;
  sha256: string;
  etag?: string;
  verifiedBy: 'upload-response';
}

async function hashFile(file: string, signal: AbortSignal): Promise<{ md5: Buffer; sha256: string; size: number }> {
  const md5 = createHash('md5');
  const sha = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file, { signal })) {
    md5.update(chunk as Buffer);
    sha.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { md5: md5.digest(), sha256: sha.digest('hex'), size };
}

/** Throws `output_expired` when the URL's expiry has passed. */
export function checkNotExpired(url: string, now = Date.now()): void {
  const expiry = presignedExpiry(url);
  if (expiry !== undefined && expiry <= now) {
    throw new StorageError(
      'output_expired',
      `the pre-signed PUT URL for ${publicUrl(url)} expired at ${new Date(expiry).toISOString()}, before the upload; the recording is kept on this server: sign URLs with enough time for the recording and its upload`,
      'permanent',
      { status: 410 },
    );
  }
}

/** PUTs a local file to a pre-signed URL; throws a classified `StorageError`. */
export async function putPresigned(url: string, file: string, o: { contentType: string; signal: AbortSignal; inactivityMs: number; onProgress?: (loaded: number, total: number) => void }): Promise<PresignedPutResult> {
  checkNotExpired(url);
  const size0 = (await stat(file)).size;
  if (size0 > PRESIGNED_PUT_MAX_BYTES) {
    throw new StorageError('output_too_large', `the recording is ${size0} bytes: one PUT to a pre-signed URL carries at most 5 GB (${PRESIGNED_PUT_MAX_BYTES} bytes); use an s3:// output (multipart) for longer recordings`, 'permanent');
  }
  const { md5, sha256, size } = await hashFile(file, o.signal);
  checkNotExpired(url);
  const v2 = isSigV2(url);
  const headers: Record<string, string | number> = { 'Content-Length': size };
  if (!v2) {
    headers['Content-Type'] = o.contentType;
    headers['Content-MD5'] = md5.toString('base64');
  }
  const u = new URL(url);
  const shown = publicUrl(url);
  const lib = u.protocol === 'https:' ? https : http;
  const answer = await new Promise<{ status: number; etag?: string; body: string }>((resolve, reject) => {
    const req = lib.request(u, { method: 'PUT', headers, signal: o.signal, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      res.on('data', (c: Buffer) => {
        if (kept < 16_384) {
          chunks.push(c);
          kept += c.length;
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, etag: res.headers.etag, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(o.inactivityMs, () => req.destroy(Object.assign(new Error(`no progress for ${o.inactivityMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    let loaded = 0;
    const body = createReadStream(file, { signal: o.signal });
    body.on('data', (c) => {
      loaded += c.length;
      o.onProgress?.(loaded, size);
    });
    body.on('error', (err) => req.destroy(err));
    body.pipe(req);
  }).catch((err: NodeJS.ErrnoException) => {
    if (o.signal.aborted) throw new StorageError('aborted', 'the upload was interrupted', 'retryable', { cause: err });
    throw new StorageError('output_unreachable', `PUT to ${shown} failed: ${err.code ?? err.message}; will retry while the URL is valid`, 'retryable', { cause: err });
  });
  if (answer.status >= 200 && answer.status < 300) {
    const etag = answer.etag?.replace(/"/g, '');
    // An ETag that is not the MD5 (SSE-KMS) says nothing; Content-MD5 made the server check the bytes (SigV4).
    if (etag && /^[0-9a-f]{32}$/i.test(etag) && etag.toLowerCase() !== md5.toString('hex') && !v2) {
      throw new StorageError('integrity_mismatch', `PUT to ${shown} answered ETag ${etag}, not the MD5 of the file (${md5.toString('hex')})`, 'retryable');
    }
    return { size, sha256, etag, verifiedBy: 'upload-response' };
  }
  const code = /<Code>([^<]+)<\/Code>/.exec(answer.body)?.[1] ?? '';
  const message = /<Message>([^<]*)<\/Message>/.exec(answer.body)?.[1] ?? '';
  const said = `${answer.status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`;
  if (answer.status === 403 && /expired/i.test(`${code} ${message}`)) {
    throw new StorageError('output_expired', `the pre-signed PUT URL for ${shown} has expired (the server answered ${said}); the recording is kept on this server: sign URLs with enough time for the recording and its upload`, 'permanent', { status: 410 });
  }
  if (answer.status >= 500 || answer.status === 429 || answer.status === 408) {
    throw new StorageError('output_unreachable', `PUT to ${shown} answered ${said}; will retry while the URL is valid`, 'retryable');
  }
  throw new StorageError('output_rejected', `PUT to ${shown} was refused (${said}): the URL must be pre-signed for PUT of exactly this object, by credentials allowed to write it; the recording is kept on this server`, 'permanent');
}
