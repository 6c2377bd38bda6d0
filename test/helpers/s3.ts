/**
 * S3 targets for tests. The storage tests take a target — endpoint, region,
 * credentials, `createBucket` and a few read-side helpers — so the same
 * suite runs against s3rver and against a real Ceph radosgw
 * (test/helpers/radosgw-target.ts; test/helpers/storage-suite.ts).
 *
 * Every target sits behind the test proxy (s3-proxy.ts), which gives the
 * same ground truth on both: the request log, object writes per key, faults
 * on request, and outages. Least privilege is the same grant on both
 * (s3-policy.ts): a real bucket policy on radosgw, evaluated per request here.
 *
 * `startS3rver()` runs s3rver in the test process on 127.0.0.1, port 0, with
 * bucketcast's ListMultipartUploads/AbortMultipartUpload additions, and adds
 * what s3rver lacks, on the wire as AWS S3 does it:
 * - per-bucket regions: a request signed for another region gets AWS's answer
 *   (400 AuthorizationHeaderMalformed naming the region, `x-amz-bucket-region`);
 * - access grants per access key (AccessDenied for everything not granted);
 * - one usable KMS key: aws:kms with another key id is AccessDenied naming
 *   kms:GenerateDataKey, as AWS answers;
 * - buckets that refuse the SDK's flexible-checksum headers.
 */
import { mkdtempSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
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
import { addMultipartOperations } from './s3rver/s3rver-multipart.js';
import { startS3Proxy, type Fault, type S3Proxy, type SeenRequest } from './s3-proxy.js';
import { actionsOf, allows, type AccessGrant } from './s3-policy.js';

export type { Fault, SeenRequest } from './s3-proxy.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface S3Keys {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface S3Object {
  key: string;
  size: number;
  etag: string;
}

/** An S3 service the storage tests can run against. */
export interface S3Target {
  name: string;
  endpoint: string;
  region: string;
  credentials: S3Keys;
  forcePathStyle: boolean;
  createBucket(name: string): Promise<void>;
  /** A client with the target's credentials (or others), signing for the bucket's region when given. */
  client(credentials?: S3Keys, bucket?: string): S3Client;
  listObjects(bucket: string, prefix?: string): Promise<S3Object[]>;
  getObject(bucket: string, key: string): Promise<Buffer>;
  headObject(bucket: string, key: string): Promise<{ size: number; etag: string; contentType?: string; metadata: Record<string, string>; sse?: string; kmsKeyId?: string }>;
  /** Incomplete multipart uploads of the bucket (every user's), as its owner lists them. */
  listMultipartUploads(bucket: string, prefix?: string): Promise<Array<{ key: string; uploadId: string }>>;
  stop(): Promise<void>;
}

/** What the shared storage suite needs: plain S3, and what the test proxy sees and does. */
export interface SharedS3Target extends S3Target {
  /** Requests seen so far: method, bucket, key, part number, the headers they carried, the status answered. */
  requests: SeenRequest[];
  /** Successful object writes (PutObject, CompleteMultipartUpload) per key of a bucket. */
  writes(bucket: string): Map<string, number>;
  /** Answers matching requests with an error, or rewrites the ETag of their answer. */
  inject(fault: Fault): void;
  /** Stops answering (an outage); `restart()` brings it back on the same port. */
  halt(): Promise<void>;
  restart(): Promise<void>;
  /** A new user with exactly this access to the bucket. */
  grant(bucket: string, access: AccessGrant): Promise<S3Keys>;
  /** A KMS key (ARN) the server encrypts with for aws:kms; any other key id is refused. */
  kmsKeyArn: string;
  /** Whether HEAD reports SSE-KMS on an object (s3rver stores no encryption). */
  reportsKms: boolean;
  /** Stops the server and removes its data. */
  cleanup(): Promise<void>;
}

/**
 * What only s3rver offers: its directory (ground truth of incomplete uploads,
 * no S3 call) and server behaviours the tests provoke (a bucket in another
 * region, a server refusing flexible-checksum headers, extra keys).
 */
export interface S3TestTarget extends SharedS3Target {
  directory: string;
  port: number;
  /** Incomplete multipart uploads as s3rver keeps them on disk (ground truth, no S3 call). */
  pendingUploadDirs(bucket: string): string[];
  /** Puts a bucket "in" a region: requests signed for another region are refused as AWS refuses them. */
  setBucketRegion(bucket: string, region: string): void;
  /**
   * Makes a bucket refuse the SDK's flexible-checksum headers and aws-chunked
   * bodies (400 InvalidArgument), as some S3-compatible servers do.
   */
  rejectChecksumHeaders(bucket: string): void;
  /** Adds an access key with full access (e.g. the one a fake STS hands out); `grant` makes restricted ones. */
  addAccessKey(accessKeyId: string, secretAccessKey: string): void;
  /** The fault-injecting proxy in front of s3rver (error windows, resets, stalls, traffic log). */
  proxy: S3Proxy;
}

/** The read-side helpers of a target, from a client factory (owner credentials). */
export function s3Reads(clientFor: (bucket?: string) => S3Client): Pick<S3Target, 'createBucket' | 'listObjects' | 'getObject' | 'headObject' | 'listMultipartUploads'> {
  return {
    async createBucket(name) {
      await clientFor().send(new CreateBucketCommand({ Bucket: name }));
    },
    async listObjects(bucket, prefix) {
      const out: S3Object[] = [];
      let token: string | undefined;
      do {
        const r = await clientFor(bucket).send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const o of r.Contents ?? []) out.push({ key: o.Key!, size: o.Size ?? 0, etag: (o.ETag ?? '').replace(/"/g, '') });
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token);
      return out.sort((a, b) => a.key.localeCompare(b.key));
    },
    async getObject(bucket, key) {
      const r = await clientFor(bucket).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await r.Body!.transformToByteArray());
    },
    async headObject(bucket, key) {
      const h = await clientFor(bucket).send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { size: h.ContentLength ?? 0, etag: (h.ETag ?? '').replace(/"/g, ''), contentType: h.ContentType, metadata: h.Metadata ?? {}, sse: h.ServerSideEncryption, kmsKeyId: h.SSEKMSKeyId };
    },
    async listMultipartUploads(bucket, prefix) {
      const r = await clientFor(bucket).send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
      return (r.Uploads ?? []).map((u) => ({ key: u.Key!, uploadId: u.UploadId! }));
    },
  };
}

/** Keys for a new test user. */
export function randomKeys(): S3Keys {
  return { accessKeyId: `BC${randomBytes(9).toString('hex').toUpperCase()}`, secretAccessKey: randomBytes(30).toString('base64').replace(/[+/=]/g, 'x') };
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

/** The KMS key the s3rver target accepts for aws:kms (any other is AccessDenied, as on AWS). */
export const S3RVER_KMS_KEY = 'arn:aws:kms:us-east-1:123456789012:key/0b1c2d3e-bucketcast-test';

export async function startS3rver(opts: { directory?: string } = {}): Promise<S3TestTarget> {
  const directory = opts.directory ?? mkdtempSync(path.join(os.tmpdir(), 'bucketcast-s3-'));
  const regions = new Map<string, string>();
  /** Access key → bucket → what it may do. Keys not here may do everything. */
  const grants = new Map<string, Map<string, AccessGrant>>();
  const strict = new Set<string>();

  const testBehaviour = async (ctx: KoaContext, next: () => Promise<void>) => {
    const m = /^\/([^/]+)(?:\/(.*))?$/.exec(ctx.path);
    const bucket = m ? decodeURIComponent(m[1]) : undefined;
    const key = m?.[2] ? m[2].split('/').map(decodeURIComponent).join('/') : undefined;
    const cred = /Credential=([^/]+)\/\d{8}\/([^/]+)\//.exec(ctx.headers.authorization ?? '');
    const checksumHeaders = Object.keys(ctx.headers).filter((h) => /^x-amz-(checksum-|sdk-checksum|trailer|decoded-content-length)/.test(h) || (h === 'content-encoding' && /aws-chunked/.test(String(ctx.headers[h]))));
    if (bucket && strict.has(bucket) && checksumHeaders.length) {
      throw new S3Error('InvalidArgument', `x-amz-checksum and aws-chunked trailing checksums are not supported (${checksumHeaders.join(', ')})`);
    }
    const bucketRegion = bucket ? regions.get(bucket) : undefined;
    if (bucketRegion && cred && cred[2] !== bucketRegion) {
      ctx.set('x-amz-bucket-region', bucketRegion);
      throw new S3Error('AuthorizationHeaderMalformed', `The authorization header is malformed; the region '${cred[2]}' is wrong; expecting '${bucketRegion}'`, { Region: bucketRegion });
    }
    const granted = cred ? grants.get(cred[1]) : undefined;
    if (granted) {
      const g = bucket ? granted.get(bucket) : undefined;
      const needed = actionsOf(ctx.method, key, Object.keys(ctx.query), ctx.headers);
      if (!g || !needed.every((a) => allows(g, a, key))) throw new S3Error('AccessDenied', 'Access Denied');
    }
    // SSE-KMS with a key these credentials may not use: AWS names the KMS action that was denied.
    const kmsKey = ctx.headers['x-amz-server-side-encryption-aws-kms-key-id'];
    if (ctx.headers['x-amz-server-side-encryption'] === 'aws:kms' && kmsKey && kmsKey !== S3RVER_KMS_KEY) {
      throw new S3Error('AccessDenied', `User: arn:aws:iam::123456789012:user/bucketcast is not authorized to perform: kms:GenerateDataKey on resource: ${kmsKey} because no identity-based policy allows the kms:GenerateDataKey action`);
    }
    await next();
  };

  const s3rver = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, vhostBuckets: false });
  // Ahead of the multipart additions, so regions and grants apply to them too.
  s3rver.middleware.splice(s3rver.middleware.length - 1, 0, testBehaviour);
  addMultipartOperations(s3rver);
  const addr = await s3rver.run();
  const proxy = await startS3Proxy(`http://127.0.0.1:${addr.port}`);
  const stopAll = async () => {
    await proxy.close();
    const closing = s3rver.close();
    s3rver.httpServer?.closeAllConnections();
    await closing.catch(() => undefined);
  };

  const client = (credentials?: S3Keys, bucket?: string) =>
    new S3Client({
      endpoint: proxy.endpoint,
      region: (bucket && regions.get(bucket)) || 'us-east-1',
      forcePathStyle: true,
      credentials: credentials ?? t.credentials,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  const grantTo = (accessKeyId: string, secretAccessKey: string, bucket: string, access: AccessGrant) => {
    AWSAccount.DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);
    const perBucket = grants.get(accessKeyId) ?? new Map<string, AccessGrant>();
    grants.set(accessKeyId, perBucket);
    perBucket.set(bucket, access);
  };

  const t: S3TestTarget = {
    name: 's3rver',
    directory,
    get port() {
      return proxy.port;
    },
    endpoint: proxy.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    forcePathStyle: true,
    client,
    ...s3Reads((bucket) => client(undefined, bucket)),
    requests: proxy.requests,
    writes: proxy.writes,
    inject: proxy.inject,
    halt: proxy.halt,
    restart: proxy.restart,
    async grant(bucket, access) {
      const keys = randomKeys();
      grantTo(keys.accessKeyId, keys.secretAccessKey, bucket, access);
      return keys;
    },
    kmsKeyArn: S3RVER_KMS_KEY,
    reportsKms: false,
    pendingUploadDirs(bucket) {
      const dir = path.join(directory, bucket, '._S3rver_uploads');
      return existsSync(dir) ? readdirSync(dir) : [];
    },
    setBucketRegion: (bucket, region) => void regions.set(bucket, region),
    rejectChecksumHeaders: (bucket) => void strict.add(bucket),
    addAccessKey(accessKeyId, secretAccessKey) {
      AWSAccount.DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);
    },
    proxy,
    stop: stopAll,
    async cleanup() {
      await stopAll();
      rmSync(directory, { recursive: true, force: true });
    },
  };
  return t;
}
