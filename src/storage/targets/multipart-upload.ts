/**
 * A file as a resumable multipart upload.
 *
 * Design: the UploadId (and part size) is recorded before the first part goes
 * out, and each part once the service acknowledged it (number, size, ETag,
 * Content-MD5). An attempt that finds a recorded upload asks the service which
 * parts it holds (ListParts), or — when a write-only policy denies that —
 * trusts the recorded ones, and sends only the others. Parts it does not send
 * are still read and hashed locally (the object's SHA-256 needs every byte;
 * a part whose MD5 no longer matches what was sent is sent again). Parts go
 * up `queueSize` at a time; the reader reads the next one only when a slot is
 * free, so memory stays about queueSize × part size.
 *
 * A recorded upload the service no longer knows was aborted, or completed by
 * an attempt that died before saying so: if the object is there with this
 * file's ETag, nothing is sent again.
 */
import type { PutObjectCommandInput } from '@aws-sdk/client-s3';
import type { MultipartRef, UploadedPart } from '../../db/types.js';
import { StorageError } from './errors.js';
import { partCount, type FileDigest } from './integrity.js';
import type { UploadResponse } from './confirm.js';
import type { OpenFile, ReadPart } from './part-reader.js';
import { completeUpload, createUpload, listParts, opaqueEtags, sendPart } from './multipart.js';
import type { S3Target } from './targets.js';

/** Where an upload's progress is recorded, so the next attempt can resume it. */
export interface MultipartJournal {
  /** The upload an earlier attempt recorded for this file, with its acknowledged parts. */
  recorded?: { ref: MultipartRef; parts: UploadedPart[] };
  /** A new upload exists (called before its first part is sent). */
  started(ref: MultipartRef): Promise<void>;
  /** The service acknowledged a part. */
  partDone(uploadId: string, part: UploadedPart): Promise<void>;
  /** The recorded upload cannot be resumed: abort it (best effort) and forget it. */
  discard(ref: MultipartRef): Promise<void>;
}

export interface MultipartRun {
  target: S3Target;
  key: string;
  file: OpenFile;
  partSize: number;
  params: PutObjectCommandInput;
  journal?: MultipartJournal;
  signal?: AbortSignal;
  onProgress?: (loaded: number, total: number) => void;
  skipIfPresent?: boolean;
  /** The object's ETag when it already holds this digest, else undefined. */
  present: (d: FileDigest) => Promise<string | undefined>;
}

export interface MultipartResult {
  digest: FileDigest;
  answer: UploadResponse;
  resumedParts: number;
  /** Set when the object was already there (nothing sent): its ETag. */
  alreadyThere?: string;
}

const MD5_HEX = /^[0-9a-f]{32}$/;

/** Uploads (or resumes) a file of more than one part; the caller verifies the result. */
export async function uploadMultipart(r: MultipartRun): Promise<MultipartResult> {
  const { target: t, key, file, partSize } = r;
  const n = partCount(file.size, partSize);
  const lengthOf = (i: number) => (i === n ? file.size - (n - 1) * partSize : partSize);

  // What an earlier attempt left: parts the service holds that need not go again.
  let uploadId: string | undefined;
  const held = new Map<number, UploadedPart>();
  let checkPresent = !!r.skipIfPresent;
  const rec = r.journal?.recorded;
  if (rec) {
    const usable = rec.ref.bucket === t.bucket && rec.ref.key === key && rec.ref.partSize === partSize;
    const listed = usable ? await listParts(t, key, rec.ref.uploadId, r.signal) : 'gone';
    if (!usable) await r.journal!.discard(rec.ref);
    else if (listed === 'gone') {
      await r.journal!.discard(rec.ref);
      checkPresent = true;
    } else {
      uploadId = rec.ref.uploadId;
      const mine = new Map(rec.parts.map((p) => [p.partNumber, p]));
      // ListParts is the truth where allowed; a write-only policy leaves the recorded parts.
      const source = listed === 'denied' ? rec.parts : listed.map((p) => ({ ...p, checksum: mine.get(p.partNumber)?.etag === p.etag ? mine.get(p.partNumber)!.checksum : '' }));
      for (const p of source) if (p.partNumber <= n && p.size === lengthOf(p.partNumber)) held.set(p.partNumber, p);
    }
  }

  if (checkPresent && !uploadId) {
    // Only when the key holds an object of this size is the file hashed first (a second read, on this rare path).
    const d = await hashOnly(r, n, lengthOf);
    const etag = d.size === file.size ? await r.present(d) : undefined;
    if (etag !== undefined) return { digest: d, answer: { etag, partEtags: new Map(), opaqueEtags: false }, resumedParts: 0, alreadyThere: etag };
    const again = await r.file.reopen();
    return uploadMultipart({ ...r, file: again, skipIfPresent: false, journal: r.journal && { ...r.journal, recorded: undefined } }).finally(() => again.drop());
  }

  if (!uploadId) {
    uploadId = await createUpload(t, r.params, r.signal);
    await r.journal?.started({ uploadId, bucket: t.bucket, key, partSize });
  }

  const done = new Map<number, UploadedPart & { crc32?: number }>();
  const md5s: Buffer[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let loaded = 0;
  let resumed = 0;
  const opaque = opaqueEtags(t, {});
  {
    for (let i = 1; i <= n && failure === undefined; i++) {
      const offset = (i - 1) * partSize;
      const length = lengthOf(i);
      const have = held.get(i);
      let part: ReadPart;
      if (have) {
        const h = await file.part(offset, length, false);
        md5s.push(Buffer.from(h.md5, 'base64'));
        const hex = Buffer.from(h.md5, 'base64').toString('hex');
        if (have.checksum ? have.checksum === h.md5 : !opaque && MD5_HEX.test(have.etag) && have.etag === hex) {
          done.set(i, { ...have, crc32: h.crc32 });
          loaded += length;
          resumed++;
          continue;
        }
        // The file's bytes differ from what was sent for this part (or nothing says): send it again.
        while (inFlight.size >= t.settings.queueSize) await Promise.race(inFlight);
        if (failure !== undefined) break;
        part = await file.reread(offset, length);
      } else {
        while (inFlight.size >= t.settings.queueSize) await Promise.race(inFlight);
        if (failure !== undefined) break;
        part = await file.part(offset, length, true);
        md5s.push(Buffer.from(part.md5, 'base64'));
      }
      const id = uploadId;
      const p: Promise<void> = sendPart(t, key, id, i, part, r.signal)
        .then(async (etag) => {
          const up = { partNumber: i, size: length, etag, checksum: part.md5 };
          await r.journal?.partDone(id, up);
          done.set(i, { ...up, crc32: part.crc32 });
          loaded += length;
          r.onProgress?.(loaded, file.size);
        })
        // No new part starts after a failure, but those in flight may finish: acknowledged, they need not go again.
        .catch((err) => {
          failure ??= err;
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await Promise.all(inFlight);
  }
  if (failure !== undefined) throw failure;
  if (resumed) r.onProgress?.(loaded, file.size);

  const whole = await file.finish();
  const digest: FileDigest = { size: whole.size, sha256: whole.sha256, partMd5s: md5s, partSize, crc32: whole.crc32 };
  const parts = [...done.values()].sort((a, b) => a.partNumber - b.partNumber);
  const out = await completeUpload(t, key, uploadId, parts, r.signal);
  if (out === 'gone') {
    // Aborted under us (or completed by another attempt): the next attempt looks whether the object is there.
    await r.journal?.discard({ uploadId, bucket: t.bucket, key, partSize });
    throw new StorageError('upload_vanished', `the multipart upload of "${key}" no longer exists at the service; starting again`, 'retryable');
  }
  const partEtags = new Map(parts.map((p) => [p.partNumber, p.etag]));
  const answer: UploadResponse = { etag: out.etag, partEtags, checksumCrc32: out.checksumCrc32, opaqueEtags: opaqueEtags(t, { ServerSideEncryption: out.serverSideEncryption }) };
  return { digest, answer, resumedParts: resumed };
}

/** Reads every part only to hash it: the digest of the file as it would be uploaded. */
async function hashOnly(r: MultipartRun, n: number, lengthOf: (i: number) => number): Promise<FileDigest> {
  const md5s: Buffer[] = [];
  for (let i = 1; i <= n; i++) md5s.push(Buffer.from((await r.file.part((i - 1) * r.partSize, lengthOf(i), false)).md5, 'base64'));
  const whole = await r.file.finish();
  return { size: whole.size, sha256: whole.sha256, partMd5s: md5s, partSize: r.partSize, crc32: whole.crc32 };
}

