/**
 * Every write of the embedded store (s3rver 3's filesystem store) goes
 * through a temporary file and a rename, and every failure is an S3 error for
 * that one request — never an unhandled stream error that ends the process.
 *
 * s3rver's own versions: PutObject pipes the request into the object's file
 * with no error handler, so a request cut off mid-body never settles and
 * leaves a half-written object visible; CompleteMultipartUpload opens each
 * listed part without checking it exists or that its ETag matches, so naming
 * a part that was never uploaded crashed the whole server (ENOENT emitted by
 * a read stream nobody listens to). UploadPart created the upload's folder
 * again after an abort, and a cut-off attempt removed the part a retry of the
 * same number had just written.
 *
 * Here, as on S3: a part of an unknown or aborted upload is NoSuchUpload; a
 * completion naming a missing part or a wrong ETag is InvalidPart, parts out
 * of order InvalidPartOrder; a cut-off request stores nothing.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type S3rver from 's3rver';
import S3Error from 's3rver/lib/models/error.js';

const NO_SUCH_UPLOAD = 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.';
const INVALID_PART =
  "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have match the part's entity tag.";
const INVALID_PART_ORDER = 'The list of parts was not in ascending order. The parts list must be specified in order by part number.';

interface StoredObject {
  bucket: string;
  key: string;
  content: Buffer | Readable;
  metadata: Record<string, string>;
}

interface Store {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
  putObject(object: StoredObject): Promise<{ size: number; md5: string }>;
  putObjectMultipart(bucket: string, uploadId: string, parts: Array<{ number: number; etag: string }>): Promise<{ size: number; md5: string }>;
  putPart(bucket: string, uploadId: string, partNumber: string | number, content: Readable): Promise<{ size: number; md5: string }>;
}

/** S3's answer for an unknown, malformed, aborted or completed upload id. */
export function noSuchUpload(uploadId: unknown): S3Error {
  return new S3Error('NoSuchUpload', NO_SUCH_UPLOAD, { UploadId: String(uploadId) });
}

/** The folder of a pending multipart upload; NoSuchUpload when there is none. */
export function uploadFolder(app: S3rver, bucket: string, uploadId: unknown): string {
  const id = String(uploadId);
  const dir = path.join(app.store.getResourcePath(bucket, undefined, 'uploads'), path.basename(id));
  if (!/^[0-9a-f]+$/i.test(id) || !existsSync(path.join(dir, 'key'))) throw noSuchUpload(id);
  return dir;
}

/** Replaces the store's PutObject, UploadPart and CompleteMultipartUpload writes; call before `run()`. */
export function guardWrites(app: S3rver): void {
  const store = app.store as unknown as Store;

  store.putObject = async (object) => {
    const file = store.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(path.dirname(file), { recursive: true });
    const content = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
    const written = await writeAtomically(content, file);
    await store.putMetadata(object.bucket, object.key, object.metadata, written.md5);
    return written;
  };

  store.putPart = async (bucket, uploadId, partNumber, content) => {
    const dir = uploadFolder(app, bucket, uploadId);
    if (!/^\d{1,5}$/.test(String(partNumber))) throw noSuchUpload(uploadId);
    const partPath = path.join(dir, String(Number(partNumber)));
    try {
      // The temp file's open fails (ENOENT) once the upload is aborted; a cut-off request rejects.
      // The digest first: a part file present always has its own digest beside it.
      return await writeAtomically(content, partPath, (md5) => writeAtomically(Readable.from([Buffer.from(md5)]), `${partPath}.md5`));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw noSuchUpload(uploadId);
      throw err;
    }
  };

  store.putObjectMultipart = async (bucket, uploadId, parts) => {
    const dir = uploadFolder(app, bucket, uploadId);
    for (let i = 1; i < parts.length; i++) if (!(parts[i].number > parts[i - 1].number)) throw new S3Error('InvalidPartOrder', INVALID_PART_ORDER);
    for (const part of parts) {
      const file = path.join(dir, String(part.number));
      const stored = readIfExists(`${file}.md5`);
      if (!Number.isInteger(part.number) || !existsSync(file) || stored === undefined || stored !== part.etag.replace(/"/g, '')) {
        throw new S3Error('InvalidPart', INVALID_PART, { UploadId: String(uploadId), PartNumber: String(part.number), ETag: part.etag });
      }
    }
    let key: string;
    let metadata: Record<string, string>;
    try {
      key = await readFile(path.join(dir, 'key'), 'utf8');
      metadata = JSON.parse(await readFile(path.join(dir, 'metadata'), 'utf8')) as Record<string, string>;
    } catch {
      throw noSuchUpload(uploadId); // aborted meanwhile
    }
    const files = parts.map((p) => path.join(dir, String(p.number)));
    const content = Readable.from(concatFiles(files));
    let result: { size: number; md5: string };
    try {
      result = await store.putObject({ bucket, key, content, metadata });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw noSuchUpload(uploadId); // aborted mid-completion
      throw err;
    }
    await rm(dir, { recursive: true, force: true });
    return result;
  };
}

/** Streams `content` to a temp file beside `file`, then renames it into place. Nothing is left on failure. */
async function writeAtomically(content: Readable, file: string, beforeRename?: (md5: string) => Promise<unknown>): Promise<{ size: number; md5: string }> {
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const md5 = createHash('md5');
  let size = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      md5.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  try {
    await pipeline(content, count, createWriteStream(tmp));
    const digest = md5.digest('hex');
    await beforeRename?.(digest);
    await rename(tmp, file);
    return { size, md5: digest };
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

async function* concatFiles(files: string[]): AsyncGenerator<Buffer> {
  for (const f of files) for await (const chunk of createReadStream(f)) yield chunk as Buffer;
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
