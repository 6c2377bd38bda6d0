/**
 * Which files are in the public media folders, kept in memory, so a request
 * for a file that is not on disk (every forwarded request) costs no `stat`.
 *
 * Why: after express was taken out of the media path, the `stat` of every
 * forwarded request was the largest cost left in the profile of
 * `npm run bench:forward` (≈ a fifth of the server's time per redirect).
 *
 * Design note: a folder is indexed on first use: the watch (inotify) starts
 * first, then the folder is listed, so nothing created in between is missed;
 * each change event re-checks that one name. Every writer of these folders
 * (ffmpeg, the finalizer, the uploader deleting local copies, retention) goes
 * through the file system, so the index follows all of them without any module
 * having to report. "Present" is only a hint: the file is opened, and one gone
 * since is handled as missing. A folder that cannot be watched (inotify limits,
 * no such folder yet) falls back to a `stat` per request, retried later.
 */
import { readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../log/logger.js';

interface Folder {
  names: Set<string>;
  watcher: FSWatcher;
  /** Inode of the watched folder: a folder deleted and made again is another one, which this watch does not see. */
  ino: number;
}

/** Retry a folder that could not be watched after this long. */
const RETRY_MS = 5_000;

/** The files of the media folders, in memory, kept current by watching the folders. */
export class LocalFileIndex implements Lifecycle {
  private readonly folders = new Map<string, Folder>();
  private readonly failed = new Map<string, number>();
  private stopped = false;

  constructor(private readonly options: { log?: Logger } = {}) {}

  async start(): Promise<void> {}

  /** Whether `dir/name` is a file (as far as the index knows; `stat` when the folder is not indexed). */
  has(dir: string, name: string): boolean {
    const folder = this.folders.get(dir) ?? this.index(dir);
    return folder ? folder.names.has(name) : isFile(path.join(dir, name));
  }

  /** Number of indexed folders (tests). */
  get size(): number {
    return this.folders.size;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const f of this.folders.values()) f.watcher.close();
    this.folders.clear();
  }

  private index(dir: string): Folder | undefined {
    if (this.stopped) return undefined;
    const failedAt = this.failed.get(dir);
    if (failedAt !== undefined && Date.now() - failedAt < RETRY_MS) return undefined;
    let watcher: FSWatcher | undefined;
    try {
      const names = new Set<string>();
      const ino = statSync(dir).ino;
      watcher = watch(dir, { persistent: false }, (event, name) => {
        try {
          // A rename may be the folder itself going away (inotify then ends the watch without an error).
          if (event === 'rename' && statSync(dir, { throwIfNoEntry: false })?.ino !== folder.ino) return this.drop(dir, folder, 'folder removed');
          if (name) this.recheck(folder, dir, String(name));
          else this.relist(folder, dir); // no name given: list again
        } catch (err) {
          this.drop(dir, folder, (err as Error).message);
        }
      });
      const folder: Folder = { names, watcher, ino };
      // The watch broke: forget the folder, `stat` again until it is indexed anew.
      watcher.on('error', (err) => this.drop(dir, folder, err.message));
      this.relist(folder, dir);
      this.folders.set(dir, folder);
      this.failed.delete(dir);
      return folder;
    } catch (err) {
      watcher?.close();
      this.failed.set(dir, Date.now());
      this.options.log?.debug({ dir, err: (err as Error).message }, 'media folder not indexed, using stat');
      return undefined;
    }
  }

  private drop(dir: string, folder: Folder, why: string): void {
    this.options.log?.debug({ dir, why }, 'media folder no longer indexed');
    folder.watcher.close();
    if (this.folders.get(dir) === folder) this.folders.delete(dir);
  }

  private relist(folder: Folder, dir: string): void {
    folder.names.clear();
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isFile() || (e.isSymbolicLink() && isFile(path.join(dir, e.name)))) folder.names.add(e.name);
    }
  }

  private recheck(folder: Folder, dir: string, name: string): void {
    if (isFile(path.join(dir, name))) folder.names.add(name);
    else folder.names.delete(name);
  }
}

function isFile(p: string): boolean {
  try {
    // No exception for the common "not on disk" case.
    return statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
  } catch {
    return false; // ENOTDIR, EACCES …: not a file we can serve
  }
}
