/**
 * `/<app>/streams/<file>` and `/<app>/previews/<file>`: recordings, HLS and
 * preview images served from local disk with Range support. A live stream's
 * playlist is also reachable as `/<app>/streams/<streamId>.m3u8`. Requests for
 * files that are not on disk go to the `missing` handler (HTTP forwarding).
 */
import path from 'node:path';
import { statSync } from 'node:fs';
import { Router, type NextFunction, type Request, type Response } from 'express';
import type { AppLookup } from '../apps/app-registry.js';
import type { DataLayout } from '../recording/layout.js';
import { contentTypeFor, extensionOf } from './content-types.js';

/** A file name we could have written: no separators, no leading dot. */
const FILE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}$/;

export type MediaFolder = 'streams' | 'previews';

/** What the forwarding layer gets when a file is not on local disk. */
export interface MissingFile {
  app: string;
  folder: MediaFolder;
  file: string;
}

export interface MediaRoutesOptions {
  apps: AppLookup;
  layout: DataLayout;
  /** Path of the HLS playlist being written for a live stream, if any. */
  livePlaylist(app: string, streamId: string): string | undefined;
  /** Handles a file that is not on local disk; by default 404. */
  missing?: (req: Request, res: Response, next: NextFunction, file: MissingFile) => void;
}

export function mediaRoutes(options: MediaRoutesOptions): Router {
  const router = Router();
  const handler = (folder: MediaFolder) => (req: Request, res: Response, next: NextFunction) => {
    const app = String(req.params.app);
    const file = String(req.params.file);
    if (!options.apps.get(app)) return void next();
    if (!FILE_NAME.test(file)) {
      res.status(400).json({ error: { code: 'bad_path', message: 'invalid file name' } });
      return;
    }
    if (req.method === 'OPTIONS') return void next();
    const dir = folder === 'streams' ? options.layout.streamsDir(app) : options.layout.previewsDir(app);
    let local = path.join(dir, file);
    if (!isFile(local) && folder === 'streams' && extensionOf(file) === 'm3u8') {
      local = options.livePlaylist(app, file.slice(0, -'.m3u8'.length)) ?? local;
    }
    if (!isFile(local)) {
      if (options.missing) return options.missing(req, res, next, { app, folder, file });
      res.status(404).json({ error: { code: 'not_found', message: `${folder}/${file} not found` } });
      return;
    }
    res.setHeader('Content-Type', contentTypeFor(file));
    // Playlists change while live; every other file name is written once and never reused.
    res.setHeader('Cache-Control', extensionOf(file) === 'm3u8' ? 'no-cache' : 'public, max-age=3600');
    res.sendFile(local, { dotfiles: 'deny', acceptRanges: true, lastModified: true, cacheControl: false }, (err) => {
      if (err && !res.headersSent) next(err);
    });
  };
  router.get('/:app/streams/:file', handler('streams'));
  router.get('/:app/previews/:file', handler('previews'));
  return router;
}

function isFile(p: string): boolean {
  try {
    // No exception for the common "not on disk" case: forwarded requests all take this path.
    return statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
  } catch {
    return false; // ENOTDIR, EACCES …: not a file we can serve
  }
}

