/**
 * A Ceph radosgw (radosgw.ts) as a target of the shared storage suite,
 * behind the same test proxy as s3rver (request log, writes, faults,
 * outages). Least privilege is a real bucket policy per bucket: every grant
 * adds its user's statements, plus one that lets the bucket owner read every
 * object — on Ceph 16 an object belongs to the user who wrote it, so without
 * it the owner (whose keys the tests read with) gets 403 on a writer's
 * objects; AWS buckets with ACLs disabled need nothing like it.
 *
 * `kms: true` (the default) sets `rgw crypt require ssl = false` (SSE over
 * the plain-HTTP loopback) and the "testing" KMS backend with one key, named
 * by an ARN, so aws:kms works for real with that key and fails with any
 * other ("Failed to retrieve the actual key"). Neither touches checksums.
 */
import { randomBytes } from 'node:crypto';
import { PutBucketPolicyCommand, S3Client } from '@aws-sdk/client-s3';
import { startRadosgw, type Radosgw } from './radosgw.js';
import { startS3Proxy, type S3Proxy } from './s3-proxy.js';
import { policyStatements, type AccessGrant } from './s3-policy.js';
import { s3Reads, type S3Keys, type SharedS3Target } from './s3.js';

export const RADOSGW_KMS_KEY = 'arn:aws:kms:us-east-1:123456789012:key/bucketcast-radosgw-test';

/** Settings that let radosgw encrypt over plain HTTP with one test KMS key. */
export function kmsConf(): Record<string, string | boolean> {
  return {
    'rgw crypt require ssl': false,
    'rgw crypt s3 kms backend': 'testing',
    'rgw crypt s3 kms encryption keys': `${RADOSGW_KMS_KEY}=${randomBytes(32).toString('base64')}`,
  };
}

export interface RadosgwTarget extends SharedS3Target {
  rgw: Radosgw;
  /** Replaces a bucket's policy with these statements (plus the owner's read statement unless `ownerReads` is false). */
  setPolicy(bucket: string, statements: object[], opts?: { ownerReads?: boolean }): Promise<void>;
  /** Bytes through the test proxy (request bodies up, answers down), one entry per chunk. */
  traffic: S3Proxy['traffic'];
}

export async function startRadosgwTarget(opts: { kms?: boolean; log?: (s: string) => void } = {}): Promise<RadosgwTarget> {
  const rgw = await startRadosgw({ conf: opts.kms === false ? {} : kmsConf(), log: opts.log });
  const proxy = await startS3Proxy(rgw.endpoint).catch(async (err) => {
    await rgw.stop();
    throw err;
  });
  const clients: S3Client[] = [];
  const client = (credentials?: S3Keys) => {
    const c = new S3Client({
      endpoint: proxy.endpoint,
      region: rgw.region,
      forcePathStyle: true,
      credentials: credentials ?? rgw.admin,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    clients.push(c);
    return c;
  };
  const owner = client();
  const statements = new Map<string, object[]>();
  const setPolicy = async (bucket: string, list: object[], o: { ownerReads?: boolean } = {}) => {
    const ownerReads = o.ownerReads === false ? [] : [{ Effect: 'Allow', Principal: { AWS: ['arn:aws:iam:::user/admin'] }, Action: ['s3:GetObject'], Resource: [`arn:aws:s3:::${bucket}/*`] }];
    await owner.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [...list, ...ownerReads] }) }));
  };
  const stop = async () => {
    for (const c of clients.splice(0)) c.destroy();
    await proxy.close();
    await rgw.stop();
  };

  return {
    name: 'radosgw',
    rgw,
    endpoint: proxy.endpoint,
    region: rgw.region,
    credentials: rgw.admin,
    forcePathStyle: true,
    client: (credentials) => client(credentials),
    ...s3Reads(() => owner),
    requests: proxy.requests,
    writes: proxy.writes,
    inject: proxy.inject,
    halt: proxy.halt,
    restart: proxy.restart,
    async grant(bucket: string, access: AccessGrant) {
      const uid = `user-${randomBytes(4).toString('hex')}`;
      const keys = await rgw.createUser(uid);
      const list = [...(statements.get(bucket) ?? []), ...policyStatements(bucket, `arn:aws:iam:::user/${uid}`, access)];
      statements.set(bucket, list);
      await setPolicy(bucket, list);
      return keys;
    },
    setPolicy,
    traffic: proxy.traffic,
    kmsKeyArn: RADOSGW_KMS_KEY,
    reportsKms: true,
    stop,
    cleanup: stop,
  };
}
