/**
 * `POST /applications/:name/playback-tokens`: a viewing token for an app with
 * `playback.access: "signed"` (minted for public apps too, so links can be
 * prepared before the switch). Optional limits: a path prefix after `/<app>/`
 * (`streams/cam1_20261204T101500Z` admits one recording's MP4, playlist and
 * segments) and one client address. Players add it as `?token=`; playlists
 * carry it into their segment URIs by themselves.
 */
import { isIP } from 'node:net';
import type { AppLookup } from '../apps/app-registry.js';
import { AppError } from '../errors.js';
import type { PlaybackClaims } from '../forwarding/playback-token.js';
import { param, route, type Route } from './http.js';
import { body, text, wholeNumber, isoDateTime, z } from './schema.js';

export interface PlaybackTokenRoutesOptions {
  apps: AppLookup;
  /** Signs claims with the app's viewing key. */
  playback: { mint(claims: PlaybackClaims): string };
  /** Unix milliseconds (tests). */
  now?: () => number;
}

/** A path prefix: URL path characters, no dot segments, no leading slash. */
const PREFIX = /^(?!\/)[A-Za-z0-9._~\-/]{1,512}$/;
const PREFIX_MESSAGE = 'must be a path after /<app>/ such as "streams/cam1_" (letters, digits, "._~-/", no leading "/", no dot segments)';

/** The body; `maxSeconds` is the app's `playback.maxTokenLifetimeSeconds` (the document names the setting). */
export function playbackTokenBody(maxSeconds?: number) {
  return body({
    expiresInSeconds: wholeNumber(1, maxSeconds, 'default 3600, at most playback.maxTokenLifetimeSeconds').optional(),
    prefix: text({ max: 512, description: 'only paths after /<app>/ that start with this, e.g. "streams/cam1_20261204T101500Z"' })
      .refine((v) => v === '' || (PREFIX.test(v) && !v.split('/').some((s) => s === '..' || s === '.')), PREFIX_MESSAGE)
      .optional(),
    ip: text({ max: 64, description: 'only from this client address' })
      .refine((v) => v === '' || isIP(v) !== 0, 'must be an IPv4 or IPv6 address')
      .optional(),
  });
}

export const PlaybackToken = z.object({
  app: z.string(),
  access: z.enum(['public', 'signed']),
  token: z.string(),
  query: z.string().describe('token=… to append to a media URL'),
  expiresAt: isoDateTime(),
  prefix: z.string().nullable(),
  ip: z.string().nullable(),
});

export function playbackTokenRoutes(o: PlaybackTokenRoutesOptions): Route[] {
  return [
    route({
      method: 'post',
      path: '/applications/:name/playback-tokens',
      body: playbackTokenBody(),
      optionalBody: true,
      responses: { 201: PlaybackToken },
      handler: (req, res, input) => {
        const name = param(req, 'name');
        const app = o.apps.get(name);
        if (!app) throw new AppError('app_not_found', `no application "${name}"`, 404);
        const max = app.playback.maxTokenLifetimeSeconds;
        const b = input.body(playbackTokenBody(max));
        const ttl = b.expiresInSeconds ?? Math.min(3600, max);
        const prefix = b.prefix || undefined;
        const ip = b.ip || undefined;
        const expiresAt = Math.floor((o.now?.() ?? Date.now()) / 1000) + ttl;
        const token = o.playback.mint({ app: name, expiresAt, prefix, ip });
        res.status(201);
        return { app: name, access: app.playback.access, token, query: `token=${encodeURIComponent(token)}`, expiresAt: new Date(expiresAt * 1000).toISOString(), prefix: prefix ?? null, ip: ip ?? null };
      },
    }),
  ];
}
