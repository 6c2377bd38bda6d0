/**
 * File modes for what must stay private: the data dir (0700: recordings, the
 * database, the key), the database and its WAL files (0600), the generated
 * admin password file (0600). A mode that others could read is tightened at
 * every start; where that is not allowed (a volume owned by someone else) the
 * caller is told, to warn.
 */
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';

/** Creates `dir` with mode 0700 or takes group and other access away from it; false when that failed. */
export function privateDir(dir: string): boolean {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return tighten(dir, 0o700);
}

/** Takes group and other access away from each existing file; false when one could not be changed. */
export function privateFiles(...files: string[]): boolean {
  return files.filter((f) => existsSync(f)).every((f) => tighten(f, 0o600));
}

function tighten(p: string, mode: number): boolean {
  try {
    if ((statSync(p).mode & 0o077) !== 0) chmodSync(p, mode);
    return true;
  } catch {
    // Not our file (e.g. a mounted volume): the caller warns.
    return false;
  }
}
