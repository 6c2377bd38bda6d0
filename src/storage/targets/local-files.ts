/** Deleting local copies, only ever inside the data dir. */
import { unlink } from 'node:fs/promises';
import path from 'node:path';

/** Deletes a local copy; true when it is gone (also when it already was). */
export async function deleteLocalCopy(dataDir: string, file: string): Promise<boolean> {
  const root = path.resolve(dataDir) + path.sep;
  const p = path.resolve(file);
  // The catalog only holds paths the recorder wrote, but never delete outside the data dir whatever it says.
  if (!p.startsWith(root)) throw new Error(`refusing to delete ${p}: it is outside the data dir`);
  try {
    await unlink(p);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}
