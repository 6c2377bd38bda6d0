/**
 * The viewing-access check of `playback.access: "signed"` apps, in one place
 * for every route that serves media: the media URLs (`/<app>/streams/…`,
 * `/<app>/previews/…`, local or forwarded) call `check` on the fast path, and
 * express routes under `/<app>/…` (the time-range playback routes) mount
 * `middleware()`. A refusal is 403 JSON with a code saying why
 * (`token_required`, `token_invalid`, `token_expired`, `token_path`, `token_ip`).
 * Answers of a private app are marked `Cache-Control: private` by the routes,
 * so no shared cache hands them to someone without a token.
 */
import type { ServerResponse } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AppLookup } from '../apps/app-registry.js';
import type { AppSettings } from '../config/schema.js';
import { sendError } from '../http/fast-route.js';
import { signPlaybackToken, verifyPlaybackToken, type PlaybackClaims, type TokenCheck } from './playback-token.js';

export interface PlaybackGuardOptions {
  apps: AppLookup;
  /** The app's viewing key of a generation (`playback.keyGeneration`), derived from the server's secret key. */
  keyFor(app: string, generation: number): Buffer;
  /** Unix seconds (tests). */
  now?: () => number;
}

export class PlaybackGuard {
  private readonly keys = new Map<string, Buffer>();
  private readonly now: () => number;

  constructor(private readonly o: PlaybackGuardOptions) {
    this.now = o.now ?? (() => Math.floor(Date.now() / 1000));
  }

  /** Whether an app's media needs a token. */
  isPrivate(settings: AppSettings | undefined): boolean {
    return settings?.playback.access === 'signed';
  }

  /**
   * Checks the `token` query parameter of a request for `path` (after
   * `/<app>/`) from `ip`. Public apps always pass (token undefined).
   */
  check(settings: AppSettings, url: string, path: string, ip: string): TokenCheck | { ok: true; claims?: undefined } {
    if (!this.isPrivate(settings)) return { ok: true };
    return verifyPlaybackToken(this.key(settings.name, settings.playback.keyGeneration), tokenOf(url), { app: settings.name, path, ip, now: this.now() });
  }

  /** Mints a token (the API's `playback-tokens` route), signed with the app's current key generation. */
  mint(claims: PlaybackClaims): string {
    return signPlaybackToken(this.key(claims.app, this.o.apps.get(claims.app)?.playback.keyGeneration ?? 0), claims);
  }

  /** Answers a refusal; returns true when the request was refused. */
  refuse(res: ServerResponse, check: TokenCheck | { ok: true }): boolean {
    if (check.ok) return false;
    res.setHeader('Cache-Control', 'no-store');
    sendError(res, 403, check.code, check.message);
    return true;
  }

  /**
   * Express middleware for routes under `/<app>/…` (e.g. `/<app>/playback/…`):
   * unknown apps and public ones pass; a private app's request needs a valid
   * token for its path. The client address is express's `req.ip` (`trust proxy`).
   */
  middleware(): RequestHandler {
    return (req: Request, res: Response, next: NextFunction) => {
      const url = req.originalUrl;
      const p = url.split('?', 1)[0];
      const slash = p.indexOf('/', 1);
      if (slash < 0) return next();
      const settings = this.o.apps.get(safeDecode(p.slice(1, slash)));
      if (!settings) return next();
      if (!this.refuse(res, this.check(settings, url, safeDecode(p.slice(slash + 1)), req.ip ?? req.socket.remoteAddress ?? ''))) next();
    };
  }

  private key(app: string, generation: number): Buffer {
    const id = `${generation}/${app}`;
    let k = this.keys.get(id);
    if (!k) this.keys.set(id, (k = this.o.keyFor(app, generation)));
    return k;
  }
}

/**
 * What the store derives an app's viewing key from: generation 0 is the key every token was signed with before
 * `keyGeneration` existed (so raising nothing revokes nothing), each later generation a key of its own.
 */
export function playbackKeyPurpose(app: string, generation: number): string {
  return generation === 0 ? `playback-token/${app}` : `playback-token/${app}/generation-${generation}`;
}

/** The `token` query parameter of a request URL. */
export function tokenOf(url: string): string | undefined {
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  return new URLSearchParams(url.slice(q + 1)).get('token') ?? undefined;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
