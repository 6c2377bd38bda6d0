/**
 * Per-application HTTP forwarding and CORS settings: what happens to a request
 * for `/<app>/streams/<file>` or `/<app>/previews/<file>` when the file is no
 * longer on local disk. The first two keys are named exactly as Ant Media names
 * them, so an Ant Media configuration carries over.
 */
import { z } from 'zod';

/** One extension of the `httpForwardingExtension` list: letters and digits, an optional leading dot. */
const EXTENSION = /^\.?[a-z0-9]{1,16}$/i;

/** An origin as browsers send it: `scheme://host[:port]`, nothing else. */
export function isOrigin(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === value.toLowerCase();
  } catch {
    return false;
  }
}

/** Why a base URL cannot be a redirect/proxy target, or null when it can. */
export function baseUrlProblem(value: string): string | null {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return 'must be an absolute URL such as https://mybucket.s3.us-east-1.amazonaws.com';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'must start with http:// or https://';
  if (u.username || u.password) return 'must not contain a user name or password';
  if (u.search || u.hash || value.includes('?') || value.includes('#')) return 'must not contain a query string or fragment';
  return null;
}

export const corsSettings = z
  .strictObject({
    allowedOrigins: z
      .array(z.string().refine((o) => o === '*' || isOrigin(o), 'must be "*" or an origin such as https://www.example.com (no path)'))
      .max(100)
      .default(['*'])
      .describe("Origins whose pages may read this app's media with fetch/XHR (hls.js): exact origins such as `https://www.example.com`, or `*` for any page. An empty list sends no CORS headers at all."),
    maxAgeSeconds: z.number().int().min(0).max(86_400).default(600).describe('How long a browser may cache a preflight answer, in seconds.'),
  })
  .prefault({});

/** Fields spread into `appSettings`. */
export const forwardingFields = {
  httpForwardingExtension: z
    .string()
    .max(200)
    .refine(
      (v) => v.trim() === '' || v.split(',').every((e) => EXTENSION.test(e.trim())),
      'must be a comma-separated list of extensions such as "mp4,m3u8"',
    )
    .default('mp4,m3u8')
    .describe("Comma-separated extensions forwarded when the file is not on local disk (Ant Media: `httpForwardingExtension`). Matched exactly against the file's extension. Empty forwards nothing."),
  httpForwardingBaseURL: z
    .string()
    .max(2000)
    .refine((v) => v === '' || baseUrlProblem(v) === null, { error: (i) => baseUrlProblem(String(i.input)) ?? 'invalid URL' })
    .default('')
    .describe("Where forwarded requests go: the bucket's URL or a CDN in front of it (Ant Media: `httpForwardingBaseURL`), e.g. `https://mybucket.s3.us-east-1.amazonaws.com`. Empty: the app's own bucket, reached through the storage module."),
  httpForwardingMode: z.enum(['auto', 'redirect', 'presigned', 'proxy']).default('auto').describe("`redirect`: 302 to base URL + object key; `presigned`: 302 to a pre-signed GET URL of the app's bucket; `proxy`: the server streams the object; `auto`: `redirect` when a base URL is set, `proxy` otherwise."),
  httpForwardingPresignExpirySeconds: z.number().int().min(1).max(604_800).default(3600).describe('Lifetime of pre-signed URLs (presigned mode, and proxy mode without a base URL). S3 allows at most 7 days.'),
  cors: corsSettings.describe("CORS headers on this app's media URLs (local and forwarded)."),
};

/** Cross-field rules of the forwarding settings, for `appSettings.superRefine`. */
export function checkForwarding(app: { httpForwardingMode: string; httpForwardingBaseURL: string }, ctx: z.RefinementCtx): void {
  if (app.httpForwardingMode === 'redirect' && app.httpForwardingBaseURL === '') {
    ctx.addIssue({
      code: 'custom',
      path: ['httpForwardingBaseURL'],
      message: 'redirect mode needs httpForwardingBaseURL (a URL viewers can reach); use presigned or proxy mode for the app\'s own bucket',
    });
  }
}

export type CorsSettings = z.output<typeof corsSettings>;
