/**
 * Serving one local file on node's own request objects: `send` (what express's
 * `res.sendFile` uses) with Range (one range; several get the whole file),
 * HEAD, `ETag`/`Last-Modified` and the conditional requests (`If-None-Match`,
 * `If-Modified-Since`, `If-Range`, `If-Match` → 412).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import send from 'send';
import { sendError } from './fast-route.js';
import { addTokenToPlaylist } from './playlist-tokens.js';

export interface SendFileOptions {
  contentType: string;
  cacheControl: string;
  /** What the viewer asked for, for messages: `streams/x.mp4`. */
  label: string;
  /** Called instead of the 404 answer when the file is gone (deleted between the check and the open). */
  onNotFound?: () => void;
}

/** Streams `file` (an absolute path) to the viewer. */
export function sendLocalFile(req: IncomingMessage, res: ServerResponse, file: string, options: SendFileOptions): void {
  res.setHeader('Content-Type', options.contentType);
  res.setHeader('Cache-Control', options.cacheControl);
  // Names are checked by the caller (no leading dot); the data dir itself may sit under a dot folder.
  const stream = send(req, file, { dotfiles: 'allow', acceptRanges: true, etag: true, lastModified: true, cacheControl: false, index: false });
  stream.on('error', (err: Error & { status?: number; headers?: Record<string, string> }) => {
    if (res.headersSent) return void res.destroy();
    res.removeHeader('Cache-Control');
    const status = err.status ?? 500;
    if (status === 404 && options.onNotFound) return options.onNotFound();
    for (const [k, v] of Object.entries(err.headers ?? {})) res.setHeader(k, v); // Content-Range of a 416
    if (status === 404) sendError(res, 404, 'not_found', `${options.label} not found`);
    else if (status === 416) sendError(res, 416, 'range_not_satisfiable', `range not satisfiable for ${options.label}`);
    else if (status === 412) sendError(res, 412, 'precondition_failed', `precondition failed for ${options.label}`);
    else if (status < 500) sendError(res, status, 'bad_request', err.message);
    else sendError(res, 500, 'internal', 'internal error');
  });
  stream.pipe(res);
}

/** Limit of a playlist read into memory to be rewritten. */
export const MAX_PLAYLIST_BYTES = 8 * 1024 * 1024;

/**
 * Serves an HLS playlist with a viewing token carried into its URIs (a private
 * app): read whole, rewritten, answered 200 (no Range, no validators: the body
 * depends on the token), `private, no-cache`.
 */
export function sendPlaylist(req: IncomingMessage, res: ServerResponse, file: string, options: { token: string; label: string; onNotFound: () => void }): void {
  readFile(file, 'utf8').then(
    (text) => {
      if (Buffer.byteLength(text) > MAX_PLAYLIST_BYTES) return sendError(res, 502, 'playlist_too_large', `${options.label} is too large to serve`);
      sendPlaylistText(req, res, addTokenToPlaylist(text, options.token));
    },
    (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? options.onNotFound() : sendError(res, 500, 'internal', 'internal error')),
  );
}

/** Answers a (rewritten) playlist body. */
export function sendPlaylistText(req: IncomingMessage, res: ServerResponse, text: string): void {
  const body = Buffer.from(text, 'utf8');
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/vnd.apple.mpegurl');
  res.setHeader('Cache-Control', 'private, no-cache');
  res.setHeader('Content-Length', body.length);
  res.end(req.method === 'HEAD' ? undefined : body);
}
