/**
 * A recording's `output` as the API takes it (seed 003's forms), checked and
 * turned into a destination:
 * - a string `https://…` (or `http://…`): a pre-signed PUT URL — the MP4 is
 *   PUT there in one request (one object, at most 5 GB);
 * - `{ "url": "s3://bucket/prefix/", "auth": { "key", "secret" } }`: in-line
 *   keys, sealed at rest, never returned or logged;
 * - `{ "url": "s3://…", "credential": "CR…" }`: a stored credential;
 * - `{ "url": "s3://…" }`: the app's own credentials;
 * each s3:// form optionally with `endpoint`, `region` and `forcePathStyle`
 * (the app's `s3` settings otherwise).
 *
 * Problems are 422s naming the field, never repeating a value (a value may
 * hold a secret or a signature).
 */
import { ValidationError, type FieldProblem } from '../../errors.js';
import { parseS3Url } from '../../config/destinations-schema.js';
import type { CredentialStore } from '../../db/types.js';

/** The largest object one PUT may carry (S3's limit). */
export const PRESIGNED_PUT_MAX_BYTES = 5 * 1024 ** 3;

/** Where a recording goes when it does not go to its app's bucket. */
export type DestinationSpec = PresignedPutSpec | S3DestinationSpec;

export interface PresignedPutSpec {
  kind: 'presigned-put';
  /** The whole URL, signature included: a secret (write access), sealed at rest, never logged or returned. */
  url: string;
}

export interface S3DestinationSpec {
  kind: 's3';
  bucket: string;
  prefix: string;
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  /** `inline`: keys given with the recording; `stored`: a stored credential; `app`: the app's own `s3.credentials`. */
  credential: { source: 'inline'; accessKeyId: string; secretAccessKey: string } | { source: 'stored'; credentialId: string } | { source: 'app' };
}

/** A URL without its query and fragment: what may be shown of a pre-signed URL. */
export function publicUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(not a URL)';
  }
}

/**
 * When a pre-signed URL stops working (epoch ms), from its query: SigV4's
 * `X-Amz-Date` + `X-Amz-Expires`, SigV2's `Expires`; undefined when it names none.
 */
export function presignedExpiry(url: string): number | undefined {
  let q: URLSearchParams;
  try {
    q = new URL(url).searchParams;
  } catch {
    return undefined;
  }
  const date = q.get('X-Amz-Date') ?? q.get('x-amz-date');
  const expires = q.get('X-Amz-Expires') ?? q.get('x-amz-expires');
  if (date && expires) {
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
    if (m && /^\d+$/.test(expires)) return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) + Number(expires) * 1000;
  }
  const v2 = q.get('Expires');
  if (v2 && /^\d+$/.test(v2)) return Number(v2) * 1000;
  return undefined;
}

/** The bucket and key a pre-signed URL writes, as well as the URL tells: virtual-hosted `<bucket>.s3….amazonaws.com/<key>`, else path-style `/<bucket>/<key>`. */
export function presignedObject(url: string): { bucket: string; key: string } {
  const u = new URL(url);
  const path = u.pathname.replace(/^\/+/, '');
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const vhost = /^(.+?)\.s3[.-]/.exec(u.hostname);
  if (vhost) return { bucket: vhost[1], key: decode(path) };
  const i = path.indexOf('/');
  return i < 0 ? { bucket: u.host, key: decode(path) } : { bucket: decode(path.slice(0, i)), key: decode(path.slice(i + 1)) };
}

/** Whether a pre-signed URL uses SigV2 (which signs Content-Type and Content-MD5, so neither may be added). */
export function isSigV2(url: string): boolean {
  try {
    const q = new URL(url).searchParams;
    return q.has('Signature') && q.has('AWSAccessKeyId');
  } catch {
    return false;
  }
}

const printable = (s: string, min: number, max: number) => s.length >= min && s.length <= max && /^[\x21-\x7e]+$/.test(s);

/** Checks an `output` (see the module comment); throws a 422 naming each problem (`output` paths). */
export function parseOutput(value: unknown, now = Date.now()): DestinationSpec {
  const problems: FieldProblem[] = [];
  const fail = (path: string, message: string): never => {
    problems.push({ path, message });
    throw new ValidationError(problems, 'output_invalid');
  };
  if (typeof value === 'string') {
    let u: URL;
    try {
      u = new URL(value);
    } catch {
      return fail('output', 'must be a pre-signed PUT URL (https://…) or an object { url: "s3://…", auth | credential }');
    }
    if (u.protocol === 's3:') return fail('output', 'an s3:// URL goes in an object: { "url": "s3://…", "auth": { "key", "secret" } } or { "url": "s3://…", "credential": "CR…" }');
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return fail('output', 'must be an http(s) pre-signed PUT URL or an object with an s3:// url');
    if (u.username || u.password) return fail('output', 'a pre-signed URL carries no user name or password');
    if (value.length > 8192) return fail('output', 'must be at most 8192 characters');
    if (u.pathname.replace(/^\/+/, '') === '') return fail('output', 'the URL names no object (its path is empty)');
    const expiry = presignedExpiry(value);
    if (expiry !== undefined && expiry <= now) {
      throw new ValidationError([{ path: 'output', message: `the pre-signed URL expired at ${new Date(expiry).toISOString()}; sign a new one with enough time for the recording and its upload` }], 'output_expired');
    }
    return { kind: 'presigned-put', url: value };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('output', 'must be a pre-signed PUT URL or an object { url: "s3://…", auth | credential }');
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['url', 'auth', 'credential', 'endpoint', 'region', 'forcePathStyle'].includes(k)) problems.push({ path: `output.${k}`, message: 'unknown field' });
  if (typeof o.url !== 'string') return fail('output.url', 'required: "s3://<bucket>/<prefix>/"');
  const parsed = parseS3Url(o.url);
  if ('problem' in parsed) return fail('output.url', parsed.problem);
  let credential: S3DestinationSpec['credential'] = { source: 'app' };
  if (o.auth !== undefined && o.credential !== undefined) return fail('output', 'give either auth or credential, not both');
  if (o.auth !== undefined) {
    const a = o.auth as Record<string, unknown>;
    if (typeof a !== 'object' || a === null || Array.isArray(a)) return fail('output.auth', 'must be { "key": "<access key id>", "secret": "<secret access key>" }');
    for (const k of Object.keys(a)) if (k !== 'key' && k !== 'secret') problems.push({ path: `output.auth.${k}`, message: 'unknown field' });
    if (typeof a.key !== 'string' || !printable(a.key, 3, 128) || a.key.includes(':')) problems.push({ path: 'output.auth.key', message: 'must be an access key id (3 to 128 printable characters, no ":")' });
    if (typeof a.secret !== 'string' || !printable(a.secret, 3, 256)) problems.push({ path: 'output.auth.secret', message: 'must be a secret access key (3 to 256 printable characters)' });
    if (!problems.length) credential = { source: 'inline', accessKeyId: a.key as string, secretAccessKey: a.secret as string };
  } else if (o.credential !== undefined) {
    if (typeof o.credential !== 'string' || !/^CR[0-9a-fA-F]{32}$/.test(o.credential)) problems.push({ path: 'output.credential', message: 'must be a stored credential id: "CR" followed by 32 hex digits' });
    else credential = { source: 'stored', credentialId: o.credential };
  }
  if (o.endpoint !== undefined) {
    let ok = false;
    try {
      ok = typeof o.endpoint === 'string' && ['http:', 'https:'].includes(new URL(o.endpoint).protocol);
    } catch {}
    if (!ok) problems.push({ path: 'output.endpoint', message: 'must be an http(s) URL' });
  }
  if (o.region !== undefined && (typeof o.region !== 'string' || !/^[a-z0-9-]{2,32}$/.test(o.region))) problems.push({ path: 'output.region', message: 'must look like "us-east-1"' });
  if (o.forcePathStyle !== undefined && typeof o.forcePathStyle !== 'boolean') problems.push({ path: 'output.forcePathStyle', message: 'must be true or false' });
  if (problems.length) throw new ValidationError(problems, 'output_invalid');
  return {
    kind: 's3',
    bucket: parsed.bucket,
    prefix: parsed.prefix,
    endpoint: o.endpoint as string | undefined,
    region: o.region as string | undefined,
    forcePathStyle: o.forcePathStyle as boolean | undefined,
    credential,
  };
}

/** What the API and logs may show of a destination: no secret, no signature. */
export function describeDestination(d: DestinationSpec): Record<string, unknown> {
  if (d.kind === 'presigned-put') {
    const expiry = presignedExpiry(d.url);
    return { kind: 'presigned-put', url: publicUrl(d.url), expiresAt: expiry === undefined ? null : new Date(expiry).toISOString(), maxBytes: PRESIGNED_PUT_MAX_BYTES };
  }
  const c = d.credential;
  return {
    kind: 's3',
    url: `s3://${d.bucket}/${d.prefix ? `${d.prefix}/` : ''}`,
    bucket: d.bucket,
    prefix: d.prefix,
    endpoint: d.endpoint ?? null,
    region: d.region ?? null,
    credentials: c.source === 'inline' ? 'in-line' : c.source === 'stored' ? c.credentialId : 'app',
  };
}

/** A checked `output` (422 otherwise; a stored credential must exist). */
export async function checkOutput(value: unknown, credentials: CredentialStore | undefined): Promise<DestinationSpec> {
  const spec = parseOutput(value);
  if (spec.kind === 's3' && spec.credential.source === 'stored') {
    const id = spec.credential.credentialId;
    if (!(await credentials?.get(id))) throw new ValidationError([{ path: 'output.credential', message: `no stored credential "${id}"` }], 'credential_not_found');
  }
  return spec;
}
