/**
 * S3 targets for tests. Storage tests take an `S3Target` — endpoint, region,
 * credentials, `createBucket` and a few read-side helpers — so the same suite
 * can run against another S3 server (Ceph radosgw) later.
 *
 * `startS3rver()` runs s3rver in the test process on 127.0.0.1, port 0, with
 * bucketcast's ListMultipartUploads/AbortMultipartUpload additions, and adds
 * what s3rver lacks and the tests need, on the wire as AWS S3 does it:
 * - per-bucket regions: a request signed for another region gets AWS's answer
 *   (400 AuthorizationHeaderMalformed naming the region, `x-amz-bucket-region`);
 * - write-only access keys (a Twilio-style policy: PutObject only; HEAD, GET,
 *   DELETE, listing and aborting are AccessDenied);
 * - a count of object writes per key (PutObject and CompleteMultipartUpload),
 *   to prove nothing was uploaded twice;
 * - stop and restart on the same port and directory (outages).
 */
import { mkdtempSync, readdirSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import type { KoaContext } from 's3rver';
import S3Error from 's3rver/lib/models/error.js';
import AWSAccount from 's3rver/lib/models/account.js';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { addMultipartOperations } from '../../src/storage/embedded/s3rver-multipart.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface S3Object {
  key: string;
  size: number;
  etag: string;
}

export interface SeenRequest {
  method: string;
  bucket?: string;
  key?: string;
  partNumber?: number;
  uploadId?: string;
  contentMd5?: string;
  /** Access key id the request was signed with, and whether it carried a session token. */
  accessKeyId?: string;
  sessionToken: boolean;
  /** `x-amz-checksum-*`, `x-amz-sdk-checksum-algorithm`, `content-encoding` … */
  checksumHeaders: string[];
}

/** An S3 service the storage suite can run against. */
export interface S3Target {
  name: string;
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  forcePathStyle: boolean;
  createBucket(name: string): Promise<void>;
  /** A client with the target's credentials (or others), signing for the bucket's region when given. */
  client(credentials?: { accessKeyId: string; secretAccessKey: string }, bucket?: string): S3Client;
  listObjects(bucket: string, prefix?: string): Promise<S3Object[]>;
  getObject(bucket: string, key: string): Promise<Buffer>;
  headObject(bucket: string, key: string): Promise<{ size: number; etag: string; contentType?: string; metadata: Record<string, string> }>;
  listMultipartUploads(bucket: string, prefix?: string): Promise<Array<{ key: string; uploadId: string }>>;
  stop(): Promise<void>;
}

/**
 * What the storage tests need beyond plain S3: ground truth (object writes per
 * key, parts left on the server), outages, and the server behaviours they
 * provoke (a bucket in another region, write-only keys, a server refusing
 * flexible-checksum headers). s3rver gets them from `startS3rver`; another
 * server (radosgw) implements the same interface to run the same tests.
 */
export interface S3TestTarget extends S3Target {
  directory: string;
  port: number;
  /** Stops listening (an outage); `restart()` brings it back on the same port and directory. */
  halt(): Promise<void>;
  restart(): Promise<void>;
  /** Successful object writes (PutObject, CompleteMultipartUpload) per key of a bucket. */
  writes(bucket: string): Map<string, number>;
  /** Incomplete multipart uploads as s3rver keeps them on disk (ground truth, no S3 call). */
  pendingUploadDirs(bucket: string): string[];
  /** Puts a bucket "in" a region: requests signed for another region are refused as AWS refuses them. */
  setBucketRegion(bucket: string, region: string): void;
  /**
   * Makes a bucket refuse the SDK's flexible-checksum headers and aws-chunked
   * bodies (400 InvalidArgument), as some S3-compatible servers do.
   */
  rejectChecksumHeaders(bucket: string): void;
  /** Requests seen so far: method, bucket, key, part number and the integrity headers they carried. */
  requests: SeenRequest[];
  /** Adds an access key; `write-only` may only PutObject/UploadPart/Complete. */
  addAccessKey(accessKeyId: string, secretAccessKey: string, policy?: 'full' | 'write-only'): void;
  /** Stops and removes the directory. */
  cleanup(): Promise<void>;
}

/** The `s3` settings of an app that point at a target's bucket (credentials from the default chain). */
export function s3SettingsFor(t: S3Target, bucket: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { bucket, endpoint: t.endpoint, region: t.region, forcePathStyle: t.forcePathStyle, ...extra };
}

/** Environment that hands a target's credentials to a server through the AWS default chain. */
export function credentialEnv(t: S3Target, credentials = t.credentials): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    // Never fall through to the instance metadata service (a non-loopback address).
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/** The server the storage tests run against: s3rver, in this process, on a free loopback port. */
export function startS3Target(): Promise<S3TestTarget> {
  return startS3rver();
}

export async function startS3rver(opts: { directory?: string } = {}): Promise<S3TestTarget> {
  const directory = opts.directory ?? mkdtempSync(path.join(os.tmpdir(), 'bucketcast-s3-'));
  const regions = new Map<string, string>();
  const policies = new Map<string, 'full' | 'write-only'>();
  const writes = new Map<string, Map<string, number>>();
  const strict = new Set<string>();
  const requests: SeenRequest[] = [];
  let server: S3rver | undefined;
  let port = 0;

  const testBehaviour = async (ctx: KoaContext, next: () => Promise<void>) => {
    const m = /^\/([^/]+)(?:\/(.*))?$/.exec(ctx.path);
    const bucket = m ? decodeURIComponent(m[1]) : undefined;
    const cred = /Credential=([^/]+)\/\d{8}\/([^/]+)\//.exec(ctx.headers.authorization ?? '');
    const checksumHeaders = Object.keys(ctx.headers).filter((h) => /^x-amz-(checksum-|sdk-checksum|trailer|decoded-content-length)/.test(h) || (h === 'content-encoding' && /aws-chunked/.test(String(ctx.headers[h]))));
    requests.push({
      method: ctx.method,
      bucket,
      key: m?.[2] ? m[2].split('/').map(decodeURIComponent).join('/') : undefined,
      partNumber: ctx.query.partNumber ? Number(ctx.query.partNumber) : undefined,
      uploadId: ctx.query.uploadId,
      contentMd5: ctx.headers['content-md5'],
      accessKeyId: cred?.[1],
      sessionToken: 'x-amz-security-token' in ctx.headers,
      checksumHeaders,
    });
    if (bucket && strict.has(bucket) && checksumHeaders.length) {
      throw new S3Error('InvalidArgument', `x-amz-checksum and aws-chunked trailing checksums are not supported (${checksumHeaders.join(', ')})`);
    }
    const bucketRegion = bucket ? regions.get(bucket) : undefined;
    if (bucketRegion && cred && cred[2] !== bucketRegion) {
      ctx.set('x-amz-bucket-region', bucketRegion);
      throw new S3Error('AuthorizationHeaderMalformed', `The authorization header is malformed; the region '${cred[2]}' is wrong; expecting '${bucketRegion}'`, { Region: bucketRegion });
    }
    const isWrite = (ctx.method === 'PUT' && !!m?.[2]) || (ctx.method === 'POST' && 'uploads' in ctx.query) || (ctx.method === 'POST' && 'uploadId' in ctx.query);
    if (cred && policies.get(cred[1]) === 'write-only' && !isWrite) throw new S3Error('AccessDenied', 'Access Denied');
    await next();
    const objectWrite = (ctx.method === 'PUT' && m?.[2] && !('uploadId' in ctx.query)) || (ctx.method === 'POST' && 'uploadId' in ctx.query);
    if (objectWrite && ctx.status === 200 && bucket && m?.[2]) {
      const key = m[2].split('/').map(decodeURIComponent).join('/');
      const perBucket = writes.get(bucket) ?? new Map<string, number>();
      writes.set(bucket, perBucket);
      perBucket.set(key, (perBucket.get(key) ?? 0) + 1);
    }
  };

  const listen = async () => {
    const s = new S3rver({ address: '127.0.0.1', port, directory, silent: true, vhostBuckets: false });
    // Ahead of the multipart additions, so regions and write-only keys apply to them too.
    s.middleware.splice(s.middleware.length - 1, 0, testBehaviour);
    addMultipartOperations(s);
    const addr = await s.run();
    port = addr.port;
    server = s;
  };
  const halt = async () => {
    const s = server;
    server = undefined;
    if (!s) return;
    const closing = s.close();
    s.httpServer?.closeAllConnections();
    await closing.catch(() => undefined);
  };
  await listen();

  const t: S3TestTarget = {
    name: 's3rver',
    directory,
    get port() {
      return port;
    },
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    forcePathStyle: true,
    client: (credentials, bucket) =>
      new S3Client({
        endpoint: t.endpoint,
        region: (bucket && regions.get(bucket)) || t.region,
        forcePathStyle: true,
        credentials: credentials ?? t.credentials,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      }),
    async createBucket(name) {
      await t.client().send(new CreateBucketCommand({ Bucket: name }));
    },
    async listObjects(bucket, prefix) {
      const out: S3Object[] = [];
      let token: string | undefined;
      do {
        const r = await t.client(undefined, bucket).send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const o of r.Contents ?? []) out.push({ key: o.Key!, size: o.Size ?? 0, etag: (o.ETag ?? '').replace(/"/g, '') });
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token);
      return out.sort((a, b) => a.key.localeCompare(b.key));
    },
    async getObject(bucket, key) {
      const r = await t.client(undefined, bucket).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await r.Body!.transformToByteArray());
    },
    async headObject(bucket, key) {
      const h = await t.client(undefined, bucket).send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { size: h.ContentLength ?? 0, etag: (h.ETag ?? '').replace(/"/g, ''), contentType: h.ContentType, metadata: h.Metadata ?? {} };
    },
    async listMultipartUploads(bucket, prefix) {
      const r = await t.client(undefined, bucket).send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
      return (r.Uploads ?? []).map((u) => ({ key: u.Key!, uploadId: u.UploadId! }));
    },
    halt,
    async restart() {
      await halt();
      await listen();
    },
    writes: (bucket) => new Map(writes.get(bucket) ?? []),
    pendingUploadDirs(bucket) {
      const dir = path.join(directory, bucket, '._S3rver_uploads');
      return existsSync(dir) ? readdirSync(dir) : [];
    },
    setBucketRegion: (bucket, region) => void regions.set(bucket, region),
    rejectChecksumHeaders: (bucket) => void strict.add(bucket),
    requests,
    addAccessKey(accessKeyId, secretAccessKey, policy = 'full') {
      AWSAccount.DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);
      policies.set(accessKeyId, policy);
    },
    stop: halt,
    async cleanup() {
      await halt();
      rmSync(directory, { recursive: true, force: true });
    },
  };
  return t;
}
