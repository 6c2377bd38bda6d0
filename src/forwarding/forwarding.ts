/**
 * The forwarding module as `main.ts` wires it: the method/CORS policy router
 * (mounted before the media routes) and the media routes' `missing` hook.
 */
import type { Router } from 'express';
import type { Lifecycle } from '../lifecycle.js';
import type { MediaRoutesOptions } from '../http/media-routes.js';
import { Forwarder, type ForwarderOptions } from './forwarder.js';
import { mediaPolicy } from './media-policy.js';

export class Forwarding implements Lifecycle {
  /** Mount before the media routes: 405 for other methods, OPTIONS, CORS headers. */
  readonly policy: Router;
  /** Pass as the media routes' `missing` option. */
  readonly missing: NonNullable<MediaRoutesOptions['missing']>;
  private readonly forwarder: Forwarder;

  constructor(options: ForwarderOptions) {
    this.forwarder = new Forwarder({ ...options, log: options.log.child({ module: 'forwarding' }) });
    this.policy = mediaPolicy({ apps: options.apps });
    this.missing = this.forwarder.missing;
  }

  async start(): Promise<void> {}

  /** Closes pooled connections to the bucket; call after the HTTP server stopped. */
  async stop(): Promise<void> {
    this.forwarder.close();
  }
}
