/**
 * The forwarding module as `main.ts` wires it: the method/CORS policy and the
 * `missing` hook of the media routes, and the catalog cache kept current by
 * upload events.
 */
import type { Lifecycle } from '../lifecycle.js';
import type { BusEvents } from '../events/types.js';
import type { MediaRoutesOptions } from '../http/media-routes.js';
import { Forwarder, type ForwarderOptions } from './forwarder.js';
import { mediaPolicy } from './media-policy.js';
import { CatalogCache } from './catalog-cache.js';
import { PlaybackGuard, playbackKeyPurpose, tokenOf } from './playback-guard.js';
import { createHmac, randomBytes } from 'node:crypto';

/** What access grants on a public app: no token to carry into playlists. */
const PUBLIC: { token?: string } = Object.freeze({});

/** The part of the event bus forwarding listens to. */
export interface UploadEvents {
  on(name: 'upload.completed', listener: (e: BusEvents['upload.completed']) => void): () => void;
}

export interface ForwardingOptions extends ForwarderOptions {
  /** Upload events: a completed upload refreshes the cached catalog entry of its file name. */
  events?: UploadEvents;
  /** Viewing access of private apps (main.ts builds it, the API mints with it); without it one with a random key of this process. */
  guard?: PlaybackGuard;
}

export class Forwarding implements Lifecycle {
  /** Pass as the media routes' `policy` option: 405 for other methods, OPTIONS, CORS headers. */
  readonly policy: NonNullable<MediaRoutesOptions['policy']> = mediaPolicy;
  /** Pass as the media routes' `missing` option. */
  readonly missing: NonNullable<MediaRoutesOptions['missing']>;
  /** Viewing access of private apps: mints tokens (API) and checks them (media routes, `guard.middleware()` for other `/<app>/…` routes). */
  readonly guard: PlaybackGuard;
  /** Pass as the media routes' `access` option. */
  readonly access: NonNullable<MediaRoutesOptions['access']>;
  private readonly forwarder: Forwarder;
  private readonly cache?: CatalogCache;
  private unsubscribe?: () => void;

  constructor(private readonly options: ForwardingOptions) {
    this.cache = options.locator && new CatalogCache(options.locator);
    this.forwarder = new Forwarder({ ...options, locator: this.cache, log: options.log.child({ module: 'forwarding' }) });
    this.missing = this.forwarder.missing;
    const fallback = randomBytes(32);
    this.guard = options.guard ?? new PlaybackGuard({ apps: options.apps, keyFor: (app, generation) => createHmac('sha256', fallback).update(playbackKeyPurpose(app, generation)).digest() });
    this.access = (req, res, media, ctx) => {
      // A public app's media: nothing to check, nothing to allocate.
      if (!this.guard.isPrivate(media.settings)) return PUBLIC;
      const check = this.guard.check(media.settings, req.url ?? '', `${media.folder}/${media.file}`, ctx.clientIp(req));
      if (this.guard.refuse(res, check)) return undefined;
      return { token: check.ok && check.claims ? tokenOf(req.url ?? '') : undefined };
    };
  }

  /** True when the catalog cache already knows the file is in the bucket (no query: the cluster's peer lookup is skipped). */
  inBucket(app: string, folder: 'streams' | 'previews', fileName: string): boolean {
    return !!this.cache?.peek(app, folder, fileName)?.object;
  }

  async start(): Promise<void> {
    const cache = this.cache;
    if (cache && this.options.events) this.unsubscribe = this.options.events.on('upload.completed', (e) => cache.forget(e.app, e.name));
  }

  /** Closes pooled connections to the bucket; call after the HTTP server stopped. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.forwarder.close();
  }
}
