/**
 * Storage settings: per application (`s3RecordingEnabled` and the `s3` object)
 * and for the server's upload machinery (`storage`). Kept apart from
 * schema.ts so the storage contract reads in one place.
 */
import { z } from 'zod';

/** Tokens a key template may use. */
export const KEY_TEMPLATE_TOKENS = ['app', 'streamId', 'recordingId', 'yyyy', 'mm', 'dd', 'HH', 'name', 'ext'] as const;

/** Canned ACLs S3 accepts; none is sent unless one is set (many buckets have ACLs disabled). */
export const CANNED_ACLS = ['private', 'public-read', 'public-read-write', 'authenticated-read', 'aws-exec-read', 'bucket-owner-read', 'bucket-owner-full-control'] as const;

/** Where a template problem is, or null when it is usable. */
export function keyTemplateProblem(t: string): string | null {
  if (/^\/|\/\/|\\/.test(t)) return 'must not start with "/", contain "//" or a backslash';
  for (const m of t.matchAll(/\{([^}]*)\}/g)) {
    if (!(KEY_TEMPLATE_TOKENS as readonly string[]).includes(m[1])) return `unknown token {${m[1]}} (known: ${KEY_TEMPLATE_TOKENS.map((k) => `{${k}}`).join(' ')})`;
  }
  if (t.split('/').some((seg) => seg === '.' || seg === '..')) return 'must not contain "." or ".." segments';
  // An HLS playlist names its segments relative to itself, so every file keeps its own name as the last segment.
  if (t.split('/').pop() !== '{name}.{ext}') return 'must end with "{name}.{ext}" (the file name; folders before it are yours)';
  return null;
}

/** 7-bit ASCII, printable, no spaces or slashes (Twilio refuses others too; many tools mangle them). */
export function bucketNameProblem(name: string): string | null {
  if (!/^[\x21-\x7e]+$/.test(name)) return 'must be 7-bit ASCII letters, digits, "." or "-" (no accents, no spaces)';
  if (!/^[a-zA-Z0-9][a-zA-Z0-9._-]{1,254}$/.test(name)) return 'must be 3 to 255 characters: letters, digits, ".", "-" or "_", starting with a letter or digit';
  return null;
}

const keyTemplate = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .superRefine((t, ctx) => {
      const p = keyTemplateProblem(t);
      if (p) ctx.addIssue({ code: 'custom', message: p });
    });

export const s3CredentialSettings = z
  .strictObject({
    source: z.enum(['default-chain', 'stored']).default('default-chain').describe('`default-chain`: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profile, container or instance role. `stored`: a credential stored (encrypted) by id.'),
    credentialId: z.string().regex(/^CR[0-9a-fA-F]{32}$/, 'must be "CR" followed by 32 hex digits').optional().describe('Id of a stored credential (`CR` + 32 hex digits), with `source: "stored"`.'),
    roleArn: z.string().min(1).optional().describe('Role to assume with the base credentials (STS AssumeRole).'),
    externalId: z.string().min(1).optional().describe("External id the role's trust policy requires."),
    stsEndpoint: z.url().optional().describe('STS endpoint for the role (default: AWS STS of the region; MinIO/Ceph serve STS on their S3 endpoint).'),
  })
  .prefault({})
  .superRefine((c, ctx) => {
    if (c.source === 'stored' && !c.credentialId) ctx.addIssue({ code: 'custom', path: ['credentialId'], message: 'required when source is "stored"' });
    if (c.source !== 'stored' && c.credentialId) ctx.addIssue({ code: 'custom', path: ['credentialId'], message: 'only used with source "stored"' });
    if (c.externalId && !c.roleArn) ctx.addIssue({ code: 'custom', path: ['externalId'], message: 'only used with roleArn' });
  });

const contentType = z.string().regex(/^[\w.+-]+\/[\w.+-]+(\s*;.*)?$/, 'must be a MIME type like "video/mp4"');

export const s3Settings = z
  .strictObject({
    bucket: z
      .string()
      .optional()
      .superRefine((b, ctx) => {
        const p = b === undefined ? null : bucketNameProblem(b);
        if (p) ctx.addIssue({ code: 'custom', message: p });
      }).describe('Bucket name (7-bit ASCII). Without one, recordings go to the local store: plain files under `<dataDir>/bucket/`.'),
    region: z.string().regex(/^[a-z0-9-]{2,32}$/, 'must look like "us-east-1"').default('us-east-1').describe('Region of the bucket.'),
    endpoint: z.url().optional().describe('Endpoint of an S3-compatible service (MinIO, Ceph, R2, Wasabi …); AWS when unset.'),
    forcePathStyle: z.boolean().default(false).describe('Path-style addressing (`endpoint/bucket/key`), which most self-hosted services need.'),
    credentials: s3CredentialSettings.describe('Which credentials upload: the AWS default chain or a stored credential, optionally assuming a role.'),
    prefix: z
      .string()
      .max(512)
      .default('')
      .refine((p) => !p.split('/').some((s) => s === '.' || s === '..') && !p.includes('\\'), 'must not contain "." or ".." segments or backslashes')
      .describe('Leading prefix of every key (no leading or trailing "/" needed).'),
    keyTemplates: z
      .strictObject({
        streams: keyTemplate('streams/{name}.{ext}').describe('Recording, HLS playlist and segments, and the metadata sidecar.'),
        previews: keyTemplate('previews/{name}.{ext}').describe('Preview images and the poster.'),
      })
      .prefault({})
      .describe('Object keys under `prefix`; tokens `{app} {streamId} {recordingId} {yyyy} {mm} {dd} {HH}` (the recording\'s UTC start), and `{name}.{ext}`, which must end every template.'),
    upload: z
      .strictObject({
        mp4: z.boolean().default(true).describe('Upload the MP4 (or WebM) recording and its parts.'),
        hls: z.boolean().default(true).describe('Upload the HLS playlist and segments (needed by `hlsLiveUpload`).'),
        previews: z.boolean().default(true).describe('Upload the preview images and the poster.'),
        metadata: z.boolean().default(true).describe('Upload the metadata sidecar `<name>.json` (every object with its key, size and SHA-256).'),
      })
      .prefault({})
      .describe('Which kinds of files are uploaded; the others stay on local disk.'),
    storageClass: z.string().regex(/^[A-Z_]{2,64}$/, 'must look like "STANDARD_IA"').optional().describe("Storage class (`STANDARD`, `STANDARD_IA`, `INTELLIGENT_TIERING` …); the bucket's default when unset."),
    acl: z.enum(CANNED_ACLS).optional().describe('Canned ACL; none by default (buckets with ACLs disabled refuse any).'),
    cacheControl: z.string().min(1).max(256).optional().describe('Cache-Control of every object.'),
    contentTypes: z
      .strictObject({
        mp4: contentType.optional().describe('Content-Type of MP4 recordings (default `video/mp4`).'),
        webm: contentType.optional().describe('Content-Type of WebM recordings (default `video/webm`).'),
        'hls-playlist': contentType.optional().describe('Content-Type of HLS playlists (default `application/vnd.apple.mpegurl`).'),
        'hls-segment': contentType.optional().describe('Content-Type of HLS segments (default `video/mp2t`).'),
        preview: contentType.optional().describe('Content-Type of preview images (default: by the image format).'),
        poster: contentType.optional().describe('Content-Type of the poster (default: by the image format).'),
        metadata: contentType.optional().describe('Content-Type of the metadata sidecar (default `application/json`).'),
      })
      .prefault({})
      .describe('Content-Type per kind of file, replacing the built-in one.'),
    sse: z
      .strictObject({
        mode: z.enum(['none', 'AES256', 'aws:kms']).default('none').describe('`AES256` (SSE-S3) or `aws:kms` (SSE-KMS), sent on every PutObject and CreateMultipartUpload; `none` sends no header.'),
        kmsKeyId: z.string().min(1).optional().describe("KMS key id or ARN (with `aws:kms`; the bucket's default key when unset)."),
      })
      .prefault({})
      .refine((s) => !s.kmsKeyId || s.mode === 'aws:kms', { message: 'kmsKeyId is only used with mode "aws:kms"', path: ['kmsKeyId'] })
      .describe('Server-side encryption.'),
    storageMode: z.enum(['primary', 'dual']).default('primary').describe('`primary`: delete the local copy once the upload is verified. `dual`: keep it for `dualRetentionDays`.'),
    dualRetentionDays: z.number().positive().max(36500).default(30).describe('Days a local copy is kept in dual mode once uploaded (fractions allowed).'),
    checksumCalculation: z.enum(['WHEN_REQUIRED', 'WHEN_SUPPORTED']).default('WHEN_REQUIRED').describe("The SDK's flexible checksums (`requestChecksumCalculation` / `responseChecksumValidation`). `WHEN_REQUIRED` works everywhere (every part still carries Content-MD5); `WHEN_SUPPORTED` adds CRC32 checksums, which some S3-compatible servers reject."),
    partSizeMiB: z.number().int().min(5).max(5120).default(8).describe('Preferred multipart part size in MiB (raised when a file would need more than 10,000 parts).'),
    queueSize: z.number().int().min(1).max(32).default(4).describe('Parts of one file uploaded at once (memory: queueSize × part size).'),
  })
  .prefault({})
  .superRefine((s, ctx) => {
    if (!s.bucket && s.endpoint) ctx.addIssue({ code: 'custom', path: ['bucket'], message: 'required when s3.endpoint is set' });
    if (!s.bucket && s.credentials.source === 'stored') ctx.addIssue({ code: 'custom', path: ['bucket'], message: 'required with stored credentials' });
  });

/** The storage keys of an application, spread into `appSettings`. */
export const appStorageFields = {
  s3RecordingEnabled: z.boolean().default(true).describe("Upload every finished recording to the app's bucket (the local store under `<dataDir>/bucket/` when no bucket is set)."),
  s3: s3Settings.describe('Where and how recordings are uploaded.'),
};

/** Server-wide upload settings (top-level `storage`). */
export const storageSettings = z
  .strictObject({
    embeddedS3Port: z
      .unknown()
      .optional()
      .superRefine((v, ctx) => {
        if (v !== undefined) ctx.addIssue({ code: 'custom', message: 'removed: no S3 server is embedded any more (apps without a bucket store plain files under <dataDir>/bucket/, served by forwarding); delete this setting (env BUCKETCAST_EMBEDDED_S3_PORT)' });
      }).describe('Removed: there is no embedded S3 server any more; apps without a bucket store plain files under `<dataDir>/bucket/`. Kept as a key only to say so clearly.'),
    concurrentUploads: z.number().int().min(1).max(64).default(2).describe('Files uploaded at once, across applications.'),
    retryMaxDelaySeconds: z.number().min(1).max(3600).default(300).describe('Longest wait between two attempts while an error stays retryable (exponential backoff with jitter).'),
    inactivityTimeoutSeconds: z.number().min(1).max(3600).default(60).describe('Seconds an S3 request may go without a byte sent or received before the attempt is aborted and retried (a stalled connection otherwise hangs an upload forever).'),
    adoptFilesOfDeadNodes: z.boolean().default(false).describe("Several nodes on one PostgreSQL whose data dirs are on shared storage (every node reads the others' files at the same paths): a node also uploads the queued files of a node not seen for 30 s (dead, or stopped). Off by default: a file is uploaded by the node whose disk holds it, after its restart."),
  })
  .prefault({});

export type S3Settings = z.output<typeof s3Settings>;
export type StorageSettings = z.output<typeof storageSettings>;
