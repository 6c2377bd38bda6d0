/**
 * Confirming an upload from what the upload itself returned, for credentials
 * that may not HEAD what they wrote (a write-only policy such as Twilio's).
 *
 * What S3 answers, and what each answer proves:
 * - A checksum (`ChecksumCRC32`, when the SDK sent one): a full-object value
 *   is compared with the file's CRC32; a composite one (`…-N`) only names the
 *   part count (each part's own checksum was checked by the service).
 * - The ETag of PutObject / CompleteMultipartUpload: the MD5 of a single PUT;
 *   `md5(part MD5s)-N` for a multipart object on AWS; the whole file's MD5 on
 *   some S3-compatible services; empty on Ceph radosgw 16's Complete.
 * - The ETag of each UploadPart: that part's MD5 (S3 refuses a Complete whose
 *   part list does not match them, so equal part ETags pin the object's bytes).
 * - With SSE-KMS (or a bucket that encrypts with KMS by default) ETags are not
 *   MD5s. Then every part's Content-MD5, computed from the file and checked by
 *   the service before it stored the part, is the confirmation, together with
 *   a part count that matches.
 *
 * A value that can be compared and differs is a mismatch (upload again); when
 * nothing can be compared the upload is unconfirmed and the local copy stays.
 */
import type { FileDigest } from './integrity.js';
import { expectedEtag } from './integrity.js';

/** What an upload answered. */
export interface UploadResponse {
  /** ETag of the PutObject or CompleteMultipartUpload answer, unquoted and lower-case ('' when none). */
  etag: string;
  /** ETag each UploadPart answered, by part number (unquoted, lower-case). */
  partEtags: ReadonlyMap<number, string>;
  /** `ChecksumCRC32` of the answer, when the service returned one (base64, `-N` when composite). */
  checksumCrc32?: string;
  /** True when ETags are not MD5s: SSE-KMS (by setting or as the answer says) or SSE-C. */
  opaqueEtags: boolean;
}

export type Confirmation =
  | { result: 'confirmed'; by: 'checksum' | 'etag' | 'part-etags' | 'content-md5' }
  | { result: 'mismatch'; reason: string }
  | { result: 'unconfirmed'; reason: string };

const MD5_HEX = /^[0-9a-f]{32}$/;
const MULTIPART_ETAG = /^([0-9a-f]{32})-(\d+)$/;

/** The CRC32 of a digest as S3 writes it (base64 of the 4 big-endian bytes). */
export function crc32Base64(value: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return b.toString('base64');
}

/** Decides whether the upload's own answer confirms the object holds the file's bytes. */
export function confirmFromResponse(d: FileDigest, r: UploadResponse): Confirmation {
  const parts = d.partMd5s.length;
  const mismatch = (reason: string): Confirmation => ({ result: 'mismatch', reason });

  // 1. A checksum the service computed over what it stored.
  let checksumCountOnly = false;
  if (r.checksumCrc32) {
    const [value, count] = r.checksumCrc32.split('-');
    if (count !== undefined) {
      if (Number(count) !== parts) return mismatch(`the returned checksum covers ${count} parts, ${parts} were sent`);
      checksumCountOnly = true;
    } else if (d.crc32 === undefined) {
      // Not computed (no flexible checksums asked for): the ETags below decide.
    } else if (value !== crc32Base64(d.crc32)) {
      return mismatch(`the returned CRC32 ${value} is not the file's (${crc32Base64(d.crc32)})`);
    } else {
      return { result: 'confirmed', by: 'checksum' };
    }
  }

  // 2. The object's ETag.
  const multi = MULTIPART_ETAG.exec(r.etag);
  if (multi) {
    if (Number(multi[2]) !== parts) return mismatch(`the ETag ${r.etag} names ${multi[2]} parts, ${parts} were sent`);
    if (!r.opaqueEtags) {
      if (r.etag !== expectedEtag(d)) return mismatch(`the ETag ${r.etag} is not the one computed from the part MD5s (${expectedEtag(d)})`);
      return { result: 'confirmed', by: 'etag' };
    }
  } else if (MD5_HEX.test(r.etag) && !r.opaqueEtags) {
    // A single PUT's MD5, or a service that gives a multipart object its whole MD5.
    const md5 = (d.md5 ?? (parts === 1 ? d.partMd5s[0] : undefined))?.toString('hex');
    if (r.etag === md5) return { result: 'confirmed', by: 'etag' };
    if (parts === 1) return mismatch(`the ETag ${r.etag} is not the file's MD5 (${md5})`);
  }

  // 3. Each part's ETag (Ceph radosgw 16 answers Complete with an empty ETag).
  if (parts > 1 && !r.opaqueEtags) {
    for (let i = 0; i < parts; i++) {
      const got = r.partEtags.get(i + 1);
      if (got !== undefined && MD5_HEX.test(got) && got !== d.partMd5s[i].toString('hex')) {
        return mismatch(`part ${i + 1} was stored with ETag ${got}, not its MD5 ${d.partMd5s[i].toString('hex')}`);
      }
    }
    const all = d.partMd5s.every((m, i) => r.partEtags.get(i + 1) === m.toString('hex'));
    if (all) return { result: 'confirmed', by: 'part-etags' };
  }

  // 4. Encrypted with KMS: ETags are not MD5s; every part's Content-MD5 was checked by the service.
  if (r.opaqueEtags && (r.etag !== '' || checksumCountOnly || r.partEtags.size === parts)) return { result: 'confirmed', by: 'content-md5' };

  return { result: 'unconfirmed', reason: `the service returned no ETag or checksum that can be compared with the file (ETag "${r.etag}")` };
}
