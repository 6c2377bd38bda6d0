/**
 * HTTP forwarding: what `/<app>/streams/<file>` and `/<app>/previews/<file>`
 * answer when the file is not on local disk (local files are served by the
 * media routes before this runs).
 *
 * Resolution: only forwarded extensions go on (others 404); the catalog's
 * object key for a completed upload wins. An object the storage target keeps
 * as a plain file on this machine (the filesystem target) is served from that
 * file, whatever the mode (Range, HEAD, ETag, Last-Modified). An unknown name uses the plain
 * mapping `<folder>/<file>` only where the request goes to a public base URL
 * (redirect mode, proxy mode with a base URL); where the server would sign it
 * with its own credentials (presigned mode, proxy without a base URL) an
 * unknown name is 404: an anonymous viewer must not reach objects bucketcast
 * never wrote (issue 15 item 6). Then, by the app's mode:
 * - redirect: 302 to `<base>/<key>?<query>`;
 * - presigned: 302 to a pre-signed URL signed for the request's method; a
 *   playlist is streamed instead, so its relative segment URIs come back here
 *   and each segment gets its own signature (a signed playlist URL cannot sign
 *   the segments the browser resolves next to it);
 * - proxy: streamed through the server from `<base>/<key>`, or from a
 *   pre-signed URL of the app's bucket when no base URL is set.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppLookup } from '../apps/app-registry.js';
import type { Logger } from '../log/logger.js';
import { AppError, errorMessage } from '../errors.js';
import type { MissingFile } from '../http/media-routes.js';
import { contentTypeFor, extensionOf } from '../http/content-types.js';
import { sendError } from '../http/fast-route.js';
import { sendLocalFile, sendPlaylist } from '../http/file-sender.js';
import { mediaCacheControl } from '../http/media-routes.js';
import { forwardingPlan, isForwarded, type ForwardingMode, type ForwardingPlan } from './forwarding-plan.js';
import { objectUrl, plainKey, safeQuery } from './object-url.js';
import { ObjectProxy, type ProxyTarget } from './object-proxy.js';
import type { LocalObjectResolver, ObjectLocator, ObjectSigner, StoredObject } from './types.js';

export interface ForwarderOptions {
  /** Current app settings (forwarding keys included). */
  apps: AppLookup;
  /** The upload catalog; without it every name uses the plain mapping. */
  locator?: ObjectLocator;
  /** The storage module's signer; without it presigned mode and proxying the app's own bucket are unavailable. */
  signer?: ObjectSigner;
  /** Where an uploaded object is a file on this machine (filesystem target); such objects are served from disk. */
  localObjects?: LocalObjectResolver;
  log: Logger;
  /** Milliseconds a proxied upstream connection may stay silent. */
  proxyIdleTimeoutMs?: number;
  /** Told the mode (`none` when the file is not forwarded, `local` when served from the filesystem target) and status of every answer, for metrics. */
  onResponse?: (mode: AnswerMode, status: number) => void;
}

/** How a forwarded request was answered, for metrics. */
export type AnswerMode = ForwardingMode | 'none' | 'local';

export class Forwarder {
  private readonly proxy: ObjectProxy;
  private readonly log: Logger;

  constructor(private readonly options: ForwarderOptions) {
    this.log = options.log;
    this.proxy = new ObjectProxy({ log: this.log, idleTimeoutMs: options.proxyIdleTimeoutMs });
  }

  /** The media routes' `missing` hook. */
  readonly missing = (req: IncomingMessage, res: ServerResponse, file: MissingFile): void => {
    const seen: { mode: AnswerMode } = { mode: 'none' };
    let done: Promise<void> | void = undefined;
    try {
      const settings = this.options.apps.get(file.app);
      const plan = settings && forwardingPlan(settings);
      if (!plan || !isForwarded(plan, file.folder, file.file)) notFound(res, `${file.folder}/${file.file}`);
      else {
        seen.mode = plan.mode;
        // A name the catalog cache already holds is answered now: no promise, no await (profiled: the hot path of a redirect).
        const known = this.options.locator?.peek?.(file.app, file.folder, file.file);
        done = known ? this.answer(req, res, file, seen, plan, known.object) : this.locate(file).then((located) => this.answer(req, res, file, seen, plan, located));
        if (done) done = done.catch((err) => this.failed(err, res, file));
      }
    } catch (err) {
      this.failed(err, res, file);
    }
    const report = this.options.onResponse;
    if (!report) return;
    // Answered already (a redirect, a refusal): counted now; otherwise (a file, a proxied body, a signature) when it finishes.
    if (!done && res.writableEnded) report(seen.mode, res.statusCode);
    else res.once('finish', () => report(seen.mode, res.statusCode));
  };

  /** Closes pooled upstream connections. */
  close(): void {
    this.proxy.close();
  }

  private failed(err: unknown, res: ServerResponse, file: MissingFile): void {
    if (!(err instanceof AppError) || err.status >= 500) this.log.warn({ app: file.app, file: `${file.folder}/${file.file}`, err: errorMessage(err) }, 'forwarding failed');
    if (res.headersSent) return void res.destroy();
    if (err instanceof AppError) sendError(res, err.status, err.code, err.message);
    else sendError(res, 500, 'internal', 'internal error');
  }

  /** Answers a forwarded file once its catalog entry is known; a promise only where signing is involved. */
  private answer(req: IncomingMessage, res: ServerResponse, file: MissingFile, seen: { mode: AnswerMode }, plan: ForwardingPlan, located: StoredObject | undefined): Promise<void> | void {
    const label = `${file.folder}/${file.file}`;
    const onDisk = located && this.options.localObjects?.localPath(file.app, located.bucket, located.key);
    if (onDisk) {
      seen.mode = 'local';
      if (file.token && extensionOf(file.file) === 'm3u8') return sendPlaylist(req, res, onDisk, { token: file.token, label, onNotFound: () => notFound(res, label) });
      return sendLocalFile(req, res, onDisk, { contentType: contentTypeFor(file.file), cacheControl: mediaCacheControl(file.file, file.token !== undefined), label });
    }
    if (located?.deliveredTo) {
      return sendError(res, 404, 'delivered_elsewhere', `${label} is not kept here: it was delivered to ${located.deliveredTo} (a pre-signed PUT output), which this server cannot read back`);
    }
    // A recording in its own destination bucket: the app's base URL is another bucket, so it is signed (redirect mode) or streamed signed (proxy).
    if (located?.ownCredentials && this.options.signer) {
      const method = req.method === 'HEAD' ? 'HEAD' : 'GET';
      const own: ForwardingPlan = plan.mode === 'redirect' ? { ...plan, mode: 'presigned' } : { ...plan, base: undefined };
      return this.signOrProxy(req, res, file, own, located.key, located, method, label);
    }
    const needsSigner = plan.mode === 'presigned' || (plan.mode === 'proxy' && !plan.base);
    if (needsSigner && !this.options.signer) {
      // auto without a base URL and without storage: nothing to forward to, as before forwarding existed.
      if (plan.auto) return notFound(res, label);
      throw new AppError('forwarding_unavailable', `${plan.mode} forwarding needs the app's bucket, and no storage is configured`, 503);
    }
    // Signing an unknown name would open the whole bucket (outside the app's prefix too) to anonymous GETs.
    if (needsSigner && !located) return notFound(res, label);
    const key = located?.key ?? plainKey(file.folder, file.file);
    const method = req.method === 'HEAD' ? 'HEAD' : 'GET';

    // A private app's redirect must not be cached where someone without a token could be handed it.
    if (plan.mode === 'redirect') {
      // The query goes along (Ant Media does), but never a private app's viewing token: it is for this server only.
      const query = safeQuery(file.token === undefined ? (req.url ?? '') : withoutToken(req.url ?? ''));
      return redirect(res, objectUrl(plan.base!, key, query), file.token !== undefined);
    }

    return this.signOrProxy(req, res, file, plan, key, located, method, label);
  }

  private async signOrProxy(req: IncomingMessage, res: ServerResponse, file: MissingFile, plan: ForwardingPlan, key: string, located: StoredObject | undefined, method: 'GET' | 'HEAD', label: string): Promise<void> {
    const isPlaylist = extensionOf(file.file) === 'm3u8';
    if (plan.mode === 'presigned' && !isPlaylist) {
      return redirect(res, await this.presign(file.app, key, located, method, plan), true);
    }
    // proxy mode, or a playlist in presigned mode
    const signed = !plan.base || plan.mode === 'presigned';
    const url = new URL(signed ? await this.presign(file.app, key, located, method, plan) : objectUrl(plan.base!, key));
    const target: ProxyTarget = {
      url,
      contentType: contentTypeFor(file.file),
      cacheControl: mediaCacheControl(file.file, file.token !== undefined),
      forceCacheControl: file.token !== undefined,
      playlistToken: isPlaylist ? file.token : undefined,
      signed,
      label,
    };
    this.proxy.stream(req, res, target);
  }

  private async locate(file: MissingFile): Promise<StoredObject | undefined> {
    if (!this.options.locator) return undefined;
    try {
      return await this.options.locator.locate(file.app, file.folder, file.file);
    } catch (err) {
      // Guessing the plain key could send the viewer to the wrong object; say what is wrong instead.
      throw new AppError('catalog_unavailable', `upload catalog unavailable: ${errorMessage(err)}`, 503, { cause: err });
    }
  }

  private presign(app: string, key: string, located: StoredObject | undefined, method: 'GET' | 'HEAD', plan: ForwardingPlan): Promise<string> {
    return this.options.signer!.presign({ app, key, bucket: located?.bucket, method, expiresSeconds: plan.expirySeconds });
  }
}

/** The request URL without its `token` query parameter(s). */
function withoutToken(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const kept = url.slice(q + 1).split('&').filter((p) => p !== 'token' && !p.startsWith('token='));
  return kept.length ? `${url.slice(0, q)}?${kept.join('&')}` : url.slice(0, q);
}

function notFound(res: ServerResponse, label: string): void {
  sendError(res, 404, 'not_found', `${label} not found`);
}

function redirect(res: ServerResponse, location: string, uncacheable: boolean): void {
  res.statusCode = 302;
  res.setHeader('Location', location);
  // A pre-signed URL expires, a private app's answer is for its viewer: nobody may cache the redirect.
  if (uncacheable) res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', '0');
  res.end();
}
