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
import { Fields, bodyObject, jsonBody, param, route, type Route } from './http.js';

export interface PlaybackTokenRoutesOptions {
  apps: AppLookup;
  /** Signs claims with the app's viewing key. */
  playback: { mint(claims: PlaybackClaims): string };
  /** Unix milliseconds (tests). */
  now?: () => number;
}

/** A path prefix: URL path characters, no dot segments, no leading slash. */
const PREFIX = /^(?!\/)[A-Za-z0-9._~\-/]{1,512}$/;

export function playbackTokenRoutes(o: PlaybackTokenRoutesOptions): Route[] {
  return [
    route('post', '/applications/:name/playback-tokens', jsonBody, (req, res) => {
      const name = param(req, 'name');
      const app = o.apps.get(name);
      if (!app) throw new AppError('app_not_found', `no application "${name}"`, 404);
      const max = app.playback.maxTokenLifetimeSeconds;
      const f = new Fields(bodyObject(req, true)).only('expiresInSeconds', 'prefix', 'ip');
      const ttl = f.int('expiresInSeconds', { min: 1, max }) ?? Math.min(3600, max);
      const prefix = f.string('prefix', { max: 512 }) || undefined;
      if (prefix !== undefined && (!PREFIX.test(prefix) || prefix.split('/').some((s) => s === '..' || s === '.'))) {
        f.problems.push({ path: 'prefix', message: 'must be a path after /<app>/ such as "streams/cam1_" (letters, digits, "._~-/", no leading "/", no dot segments)' });
      }
      const ip = f.string('ip', { max: 64 }) || undefined;
      if (ip !== undefined && isIP(ip) === 0) f.problems.push({ path: 'ip', message: 'must be an IPv4 or IPv6 address' });
      f.check();
      const expiresAt = Math.floor((o.now?.() ?? Date.now()) / 1000) + ttl;
      const token = o.playback.mint({ app: name, expiresAt, prefix, ip });
      res.status(201);
      return { app: name, access: app.playback.access, token, query: `token=${encodeURIComponent(token)}`, expiresAt: new Date(expiresAt * 1000).toISOString(), prefix: prefix ?? null, ip: ip ?? null };
    }),
  ];
}
