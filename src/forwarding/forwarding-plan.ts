/**
 * An app's forwarding settings, resolved once per settings object: the
 * effective mode, the parsed base URL and the set of forwarded extensions.
 * App settings are frozen and replaced as a whole on change, so a WeakMap keyed
 * by the settings object is always current.
 */
import type { AppSettings } from '../config/schema.js';
import { extensionOf } from '../http/content-types.js';

export type ForwardingMode = 'redirect' | 'presigned' | 'proxy';

export interface ForwardingPlan {
  mode: ForwardingMode;
  /** True when the mode was chosen by `auto`. */
  auto: boolean;
  /** Parsed `httpForwardingBaseURL`, without trailing slashes; undefined when empty. */
  base?: URL;
  /** Forwarded extensions, lower-case, without dots (HLS segment types included when m3u8 is listed). */
  extensions: ReadonlySet<string>;
  expirySeconds: number;
}

/**
 * HLS segments follow their playlist. A playlist redirected to the bucket
 * fetches its segments from the bucket by itself; a playlist served through
 * the server (proxy mode, presigned mode) resolves its relative segment URIs
 * against the server, so the segments must be forwarded too or HLS cannot play.
 */
const HLS_SEGMENTS = ['ts', 'm4s'];

const cache = new WeakMap<AppSettings, ForwardingPlan>();

export function forwardingPlan(app: AppSettings): ForwardingPlan {
  let plan = cache.get(app);
  if (!plan) {
    plan = resolve(app);
    cache.set(app, plan);
  }
  return plan;
}

/** The extension list of `httpForwardingExtension`, normalized. */
export function parseExtensions(list: string): Set<string> {
  const out = new Set<string>();
  for (const raw of list.split(',')) {
    const e = raw.trim().replace(/^\./, '').toLowerCase();
    if (e) out.add(e);
  }
  if (out.has('m3u8')) for (const s of HLS_SEGMENTS) out.add(s);
  return out;
}

/**
 * Preview images and posters: the previews folder holds nothing else, and the
 * player shows a recording's poster from it, so they follow the recording to
 * the bucket whatever `httpForwardingExtension` lists.
 */
const PREVIEW_IMAGES: ReadonlySet<string> = new Set(['jpg', 'jpeg', 'png', 'webp']);

/**
 * Whether a file is forwarded: under `streams/` its extension must be listed
 * (exact match: `x.mp4` yes, `x.xmp4` no); under `previews/` images always are.
 */
export function isForwarded(plan: ForwardingPlan, folder: 'streams' | 'previews', fileName: string): boolean {
  const ext = extensionOf(fileName);
  if (ext === '') return false;
  return plan.extensions.has(ext) || (folder === 'previews' && PREVIEW_IMAGES.has(ext));
}

function resolve(app: AppSettings): ForwardingPlan {
  const base = app.httpForwardingBaseURL ? new URL(app.httpForwardingBaseURL.replace(/\/+$/, '')) : undefined;
  const configured = app.httpForwardingMode;
  const auto = configured === 'auto';
  // auto: Ant Media's behaviour when a base URL is set; otherwise the app's own
  // bucket, which may be a loopback s3rver no viewer can reach, so the server streams it.
  const mode: ForwardingMode = configured === 'auto' ? (base ? 'redirect' : 'proxy') : configured;
  return { mode, auto, base, extensions: parseExtensions(app.httpForwardingExtension), expirySeconds: app.httpForwardingPresignExpirySeconds };
}
