/**
 * Part sizes and the checksums an upload is verified with.
 *
 * While a file goes up it is read once (part-reader.ts): its SHA-256 (in the
 * catalog, the event and the sidecar; also the `x-amz-meta-sha256` of an
 * object sent in one PUT, whose hash is known before it is sent) and the MD5
 * of each part. Every part is sent with that part's `Content-MD5`, which every
 * S3 implementation checks (the bytes S3 received are the bytes we hashed),
 * and the object's ETag can be predicted: the MD5 of a single PUT, or
 * `md5(md5(part 1) … md5(part N))-N` for a multipart upload.
 */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const MiB = 1024 * 1024;
/** S3's smallest part (all but the last). */
export const MIN_PART_SIZE = 5 * MiB;
/** S3's largest part. */
export const MAX_PART_SIZE = 5 * 1024 * MiB;
/** S3's most parts in one multipart upload. */
export const MAX_PARTS = 10_000;

/**
 * The part size for a file: the preferred size, but never below S3's 5 MiB
 * minimum, and raised (to whole MiB) when the file would need more than
 * 10,000 parts.
 */
export function partSizeFor(fileSize: number, preferredBytes: number): number {
  // Below 5 MiB S3 refuses every part but the last.
  let part = Math.max(MIN_PART_SIZE, preferredBytes);
  // More than 10,000 parts are refused: spread the file over 10,000, rounded up to a whole MiB.
  if (Math.ceil(fileSize / part) > MAX_PARTS) part = Math.ceil(fileSize / MAX_PARTS / MiB) * MiB;
  // Above 5 GiB a part is refused; only a file over 48.8 TiB could get here (S3's object limit is 5 TiB).
  if (part > MAX_PART_SIZE) throw new RangeError(`a file of ${fileSize} bytes is larger than S3 accepts`);
  return part;
}

/** Number of parts of a file: a file no larger than one part goes in a single PUT. */
export function partCount(fileSize: number, partSize: number): number {
  return fileSize <= partSize ? 1 : Math.ceil(fileSize / partSize);
}

export interface FileDigest {
  size: number;
  sha256: string;
  /** MD5 of each part, in order (one entry, the whole file's, for a single PUT). */
  partMd5s: Buffer[];
  partSize: number;
  /** MD5 of the whole file, when known: a single PUT's (some S3-compatible services give it as a multipart object's ETag too). */
  md5?: Buffer;
  /** CRC32 of the whole file, when computed (flexible checksums; compared with a full-object checksum the service returns). */
  crc32?: number;
}

/** Hashes a buffer as `hashFile` hashes a file. */
export function digestBuffer(data: Buffer, partSize: number): FileDigest {
  const partMd5s: Buffer[] = [];
  const n = partCount(data.length, partSize);
  for (let i = 0; i < n; i++) partMd5s.push(md5(data.subarray(i * partSize, n === 1 ? data.length : (i + 1) * partSize)));
  return { size: data.length, sha256: createHash('sha256').update(data).digest('hex'), partMd5s, partSize, md5: md5(data), crc32: crc32(data) };
}

/** The ETag S3 gives an object with this digest: the MD5 of a single PUT, else `md5(part md5s)-N`. */
export function expectedEtag(d: FileDigest): string {
  if (d.partMd5s.length === 1) return d.partMd5s[0].toString('hex');
  return `${md5(Buffer.concat(d.partMd5s)).toString('hex')}-${d.partMd5s.length}`;
}

/** An ETag without quotes, lower-case. */
export function normalizeEtag(etag: string | undefined): string {
  return (etag ?? '').replace(/"/g, '').trim().toLowerCase();
}

function md5(data: Buffer): Buffer {
  return createHash('md5').update(data).digest();
}
