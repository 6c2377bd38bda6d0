/**
 * The filesystem target: each object is a plain file at `<root>/<key>`
 * (root = `<dataDir>/bucket`), which a player or `ls` finds as it is — the
 * embedded default when an app has no bucket.
 *
 * An object is written to a temporary name beside its final one, fsynced,
 * renamed over it (atomic: a reader sees the old object or the new one,
 * never half of one) and the folder fsynced, so a crash leaves either
 * nothing or the whole object. A recording on the same filesystem is
 * hard-linked rather than copied (no byte written twice; the local copy's
 * removal in primary mode then only drops a name); across filesystems it is
 * copied. The object is then read once, in the reader thread, for its
 * SHA-256 (catalog, event, sidecar), and its size checked.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, link, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { StorageError } from './errors.js';
import { MiB, digestBuffer, type FileDigest } from './integrity.js';
import type { PartReader } from './part-reader.js';
import type { FsTarget } from './targets.js';

/** The file of an object, or a StorageError when the key would leave the root. */
export function objectPath(root: string, key: string): string {
  const file = path.resolve(root, key);
  if (!key || key.split('/').some((s) => s === '..' || s === '.' || s === '') || !file.startsWith(path.resolve(root) + path.sep)) {
    throw new StorageError('bad_key', `the object key "${key}" is not a plain relative path: check the key templates and prefix`, 'permanent');
  }
  return file;
}

async function fsyncPath(p: string): Promise<void> {
  const fh = await open(p, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Reads a file once in the reader thread: its size and SHA-256 (and MD5 when it is small enough to be one part). */
async function digestFile(reader: PartReader, file: string, signal?: AbortSignal): Promise<FileDigest> {
  const f = await reader.open(file);
  try {
    const md5s: Buffer[] = [];
    const n = Math.max(1, Math.ceil(f.size / (8 * MiB)));
    for (let i = 0; i < n; i++) {
      signal?.throwIfAborted();
      md5s.push(Buffer.from((await f.part(i * 8 * MiB, Math.min(8 * MiB, f.size - i * 8 * MiB), false)).md5, 'base64'));
    }
    const w = await f.finish();
    return { size: w.size, sha256: w.sha256, crc32: w.crc32, partMd5s: md5s, partSize: 8 * MiB, ...(md5s.length === 1 && { md5: md5s[0] }) };
  } finally {
    f.drop();
  }
}

/** Writes one object (from a file or bytes) durably; returns its digest. Throws a classified StorageError. */
export async function putLocalObject(t: FsTarget, key: string, source: { path: string } | { data: Buffer }, reader: PartReader, signal?: AbortSignal): Promise<FileDigest> {
  const dest = objectPath(t.root, key);
  const dir = path.dirname(dest);
  const tmp = path.join(dir, `.${path.basename(dest)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await mkdir(dir, { recursive: true });
    let digest: FileDigest;
    if ('data' in source) {
      const fh = await open(tmp, 'wx');
      try {
        await fh.writeFile(source.data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      digest = digestBuffer(source.data, Math.max(source.data.length, 1));
    } else {
      try {
        await link(source.path, tmp);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EMLINK') throw err;
        await copyFile(source.path, tmp);
      }
      await fsyncPath(tmp);
      digest = await digestFile(reader, tmp, signal);
    }
    await rename(tmp, dest);
    await fsyncPath(dir);
    const size = (await stat(dest)).size;
    if (size !== digest.size) throw new StorageError('integrity_mismatch', `"${key}" holds ${size} bytes on disk, ${digest.size} were written; writing again`, 'retryable');
    return digest;
  } catch (err) {
    // The temporary name is ours alone: remove it, whatever happened (it may not exist).
    await unlink(tmp).catch(() => undefined);
    if (err instanceof StorageError) throw err;
    throw localError(err, key);
  }
}

/** Removes an object (gone already is fine). */
export async function deleteLocalObject(t: FsTarget, key: string): Promise<void> {
  try {
    await unlink(objectPath(t.root, key));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw localError(err, key);
  }
}

/** Filesystem errors as storage errors: a full disk or a transient I/O error is retryable, a missing source or permission is not. */
function localError(err: unknown, key: string): StorageError {
  const e = err as NodeJS.ErrnoException;
  const msg = `${e.code ?? 'error'}: ${e.message}`;
  switch (e.code) {
    case 'ENOENT':
      return new StorageError('local_file_missing', `the local file for "${key}" is gone (${msg})`, 'permanent', { cause: err });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new StorageError('local_store_unwritable', `cannot write "${key}" under the data dir's bucket folder (${msg}): check its permissions`, 'permanent', { cause: err });
    case 'ENOSPC':
    case 'EDQUOT':
      return new StorageError('disk_full', `no space left to store "${key}" (${msg}); retrying`, 'retryable', { cause: err });
    default:
      if (e.name === 'AbortError') return new StorageError('aborted', 'the upload was interrupted; it will start again', 'retryable', { cause: err });
      return new StorageError('local_store_failed', `storing "${key}" failed (${msg}); retrying`, 'retryable', { cause: err });
  }
}
