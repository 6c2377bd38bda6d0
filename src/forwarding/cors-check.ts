/**
 * A storage-validation step: reads the bucket's CORS configuration
 * (GetBucketCors) and says, in plain words, whether pages served from the
 * player's origins may read recordings straight from the bucket. hls.js
 * fetches playlists and segments with XHR, so after a redirect to the bucket
 * (redirect and presigned modes) the bucket must allow the page's origin;
 * proxy mode does not need it.
 */
import { GetBucketCorsCommand, type CORSRule, type S3Client } from '@aws-sdk/client-s3';
import { errorMessage } from '../errors.js';

export interface CorsCheckOptions {
  /** Client for the app's bucket (the storage module builds it). */
  client: S3Client;
  bucket: string;
  /** Origins the player is served from, e.g. `https://media.example.com:5080`; `*` for pages anywhere. */
  origins: string[];
}

export interface CorsCheckResult {
  step: 'bucket CORS';
  /** ok: every origin may GET and HEAD; warn: some may not (playback from the bucket fails in those pages); error: could not be read. */
  status: 'ok' | 'warn' | 'error';
  /** One or two sentences for the user. */
  message: string;
  /** Origins the bucket does not allow. */
  missingOrigins: string[];
  /** A rule that would fix it, in the bucket console's JSON format. */
  suggestedRule?: { AllowedHeaders: string[]; AllowedMethods: string[]; AllowedOrigins: string[]; ExposeHeaders: string[]; MaxAgeSeconds: number };
}

const NEEDED_METHODS = ['GET', 'HEAD'];

/** The CORS rule the player needs, for the given origins. */
export function playerCorsRule(origins: string[]): NonNullable<CorsCheckResult['suggestedRule']> {
  return { AllowedHeaders: ['*'], AllowedMethods: NEEDED_METHODS, AllowedOrigins: origins, ExposeHeaders: ['Content-Length', 'Content-Range', 'ETag'], MaxAgeSeconds: 3000 };
}

export async function checkBucketCors(options: CorsCheckOptions): Promise<CorsCheckResult> {
  const { client, bucket, origins } = options;
  let rules: CORSRule[];
  try {
    const out = await client.send(new GetBucketCorsCommand({ Bucket: bucket }));
    rules = out.CORSRules ?? [];
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name === 'NoSuchCORSConfiguration') rules = [];
    else if (name === 'AccessDenied') {
      return result('error', `could not read the CORS configuration of bucket "${bucket}": access denied (the key needs s3:GetBucketCORS); check it in the bucket's Permissions tab`, origins);
    } else if (name === 'NoSuchBucket') {
      return result('error', `bucket "${bucket}" does not exist`, origins);
    } else {
      return result('error', `could not read the CORS configuration of bucket "${bucket}": ${errorMessage(err)}`, origins);
    }
  }
  const missing = origins.filter((o) => !rules.some((r) => ruleAllows(r, o)));
  if (missing.length === 0) {
    return result('ok', `bucket "${bucket}" lets the player on ${origins.join(', ')} read recordings (GET and HEAD)`, []);
  }
  const what = rules.length === 0 ? 'has no CORS rules' : `has no CORS rule allowing GET and HEAD from ${missing.join(', ')}`;
  return result(
    'warn',
    `bucket "${bucket}" ${what}, so the browser player on ${missing.join(', ')} cannot load HLS from the bucket after a redirect (redirect and presigned modes); add the suggested rule to the bucket's CORS configuration, or use proxy mode`,
    missing,
  );
}

function result(status: CorsCheckResult['status'], message: string, missing: string[]): CorsCheckResult {
  return { step: 'bucket CORS', status, message, missingOrigins: missing, ...(missing.length ? { suggestedRule: playerCorsRule(missing) } : {}) };
}

/** S3's rule matching: every needed method listed, and an AllowedOrigins entry matching (one `*` wildcard allowed). */
export function ruleAllows(rule: CORSRule, origin: string): boolean {
  const methods = (rule.AllowedMethods ?? []).map((m) => m.toUpperCase());
  if (!NEEDED_METHODS.every((m) => methods.includes(m))) return false;
  return (rule.AllowedOrigins ?? []).some((pattern) => originMatches(pattern, origin));
}

function originMatches(pattern: string, origin: string): boolean {
  if (pattern === '*') return true;
  if (origin === '*') return false; // "pages anywhere" needs the `*` rule itself
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`, 'i');
  return re.test(origin);
}
