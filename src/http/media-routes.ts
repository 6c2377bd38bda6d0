/**
 * `/<app>/streams/<file>` and `/<app>/previews/<file>`: recordings, HLS and
 * preview images served from local disk with Range support. A live stream's
 * playlist is also reachable as `/<app>/streams/<streamId>.m3u8`. Requests for
 * files that are not on disk go to the `missing` handler (HTTP forwarding).
 *
 * A fast route (see fast-route.ts): matched and answered without express, the
 * hot path of every viewer. Unknown apps and other paths fall through to express.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { statSync } from 'node:fs';
import type { AppLookup } from '../apps/app-registry.js';
import type { AppSettings } from '../config/schema.js';
import type { DataLayout } from '../recording/layout.js';
import { contentTypeFor, extensionOf } from './content-types.js';
import { sendError, type FastContext, type FastRoute } from './fast-route.js';
import { sendLocalFile, sendPlaylist } from './file-sender.js';
import type { LocalFileIndex } from './local-file-index.js';

/** A file name we could have written: no separators, no leading dot. */
const FILE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}$/;

export type MediaFolder = 'streams' | 'previews';

/** What the forwarding layer gets when a file is not on local disk. */
export interface MissingFile {
  app: string;
  folder: MediaFolder;
  file: string;
  /** The viewing token of a private app's request, carried into playlists; undefined for public apps. */
  token?: string;
}

/** A media request, as the policy and the access guard see it. */
export interface MediaRequest extends MissingFile {
  settings: AppSettings;
}

export interface MediaRoutesOptions {
  apps: AppLookup;
  layout: DataLayout;
  /** Path of the HLS playlist being written for a live stream, if any. */
  livePlaylist(app: string, streamId: string): string | undefined;
  /** Methods and CORS; answers the request (OPTIONS, 405) and returns true, or sets headers and returns false. */
  policy?: (req: IncomingMessage, res: ServerResponse, media: MediaRequest) => boolean;
  /** Handles a file that is not on local disk; by default 404. */
  missing?: (req: IncomingMessage, res: ServerResponse, file: MissingFile) => void;
  /** What is on disk, without a `stat` per request; without it every request is `stat`ed. */
  index?: LocalFileIndex;
  /**
   * Viewing access (GET and HEAD): answers a refusal and returns undefined, or
   * returns `{ token }` (the token of a private app's request, to carry into
   * playlists; undefined for public apps).
   */
  access?: (req: IncomingMessage, res: ServerResponse, media: MediaRequest, ctx: FastContext) => { token?: string } | undefined;
}

/** The media URLs as a fast route (methods and CORS, viewing access, local file or forwarding). */
export function mediaRoutes(options: MediaRoutesOptions): FastRoute {
  const present = (dir: string, name: string) => (options.index ? options.index.has(dir, name) : isFile(path.join(dir, name)));
  const forward = (req: IncomingMessage, res: ServerResponse, file: MissingFile) => {
    if (options.missing) options.missing(req, res, file);
    else sendError(res, 404, 'not_found', `${file.folder}/${file.file} not found`);
  };
  return (req, res, ctx) => {
    const media = matchMedia(req.url ?? '', options.apps);
    if (!media) return false;
    if (options.policy?.(req, res, media)) return true;
    const { app, folder, file } = media;
    if (!FILE_NAME.test(file)) {
      sendError(res, 400, 'bad_path', 'invalid file name');
      return true;
    }
    const granted = options.access ? options.access(req, res, media, ctx) : {};
    if (!granted) return true;
    const token = granted.token;
    const dir = folder === 'streams' ? options.layout.streamsDir(app) : options.layout.previewsDir(app);
    let local: string | undefined = present(dir, file) ? path.join(dir, file) : undefined;
    if (!local && folder === 'streams' && extensionOf(file) === 'm3u8') {
      const live = options.livePlaylist(app, file.slice(0, -'.m3u8'.length));
      if (live && isFile(live)) local = live;
    }
    // Not on disk: forwarded at once, without a closure (the hot path of a recording already in the bucket).
    if (!local) return forward(req, res, { app, folder, file, token }), true;
    const missing = () => forward(req, res, { app, folder, file, token });
    const isPlaylist = extensionOf(file) === 'm3u8';
    if (isPlaylist && token) {
      sendPlaylist(req, res, local, { token, label: `${folder}/${file}`, onNotFound: missing });
      return true;
    }
    sendLocalFile(req, res, local, {
      contentType: contentTypeFor(file),
      // Playlists change while live; every other file name is written once and never reused.
      cacheControl: mediaCacheControl(file, token !== undefined),
      label: `${folder}/${file}`,
      // Deleted between the check and the open (uploaded in primary mode): it is in the bucket now.
      onNotFound: missing,
    });
    return true;
  };
}

/**
 * Cache-Control of a media answer: playlists change while live, every other
 * file name is written once and never reused; a private app's answers are for
 * the viewer only (a shared cache must not serve them without the token).
 */
export function mediaCacheControl(file: string, privateApp: boolean): string {
  if (extensionOf(file) === 'm3u8') return privateApp ? 'private, no-cache' : 'no-cache';
  return privateApp ? 'private, max-age=3600' : 'public, max-age=3600';
}

/**
 * `/<app>/<streams|previews>/<file>[/][?query]` of a known app, decoded as
 * express decodes route parameters (the folder case-insensitively, one
 * trailing slash allowed, as express's non-strict routing did); else undefined.
 */
export function matchMedia(url: string, apps: AppLookup): MediaRequest | undefined {
  if (url.charCodeAt(0) !== 47 /* / */) return undefined;
  const q = url.indexOf('?');
  let p = q < 0 ? url : url.slice(0, q);
  if (p.endsWith('/')) p = p.slice(0, -1);
  const a = p.indexOf('/', 1);
  if (a < 0) return undefined;
  const b = p.indexOf('/', a + 1);
  if (b < 0 || p.indexOf('/', b + 1) >= 0 || b === p.length - 1) return undefined;
  const folder = p.slice(a + 1, b).toLowerCase();
  if (folder !== 'streams' && folder !== 'previews') return undefined;
  let app = p.slice(1, a);
  let file = p.slice(b + 1);
  try {
    if (app.includes('%')) app = decodeURIComponent(app);
    if (file.includes('%')) file = decodeURIComponent(file);
  } catch {
    return undefined; // the path guard refuses malformed escapes before any route runs
  }
  const settings = apps.get(app);
  return settings ? { app, folder, file, settings } : undefined;
}

function isFile(p: string): boolean {
  try {
    // No exception for the common "not on disk" case: forwarded requests all take this path.
    return statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
  } catch {
    return false; // ENOTDIR, EACCES …: not a file we can serve
  }
}
