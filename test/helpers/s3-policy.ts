/**
 * Least-privilege access for tests, the same on every server: a grant names
 * the S3 actions a user may do on a bucket (object actions optionally only
 * under some key prefixes). radosgw gets it as a real bucket policy
 * (`policyStatements`); s3rver, which authorizes nothing, evaluates it per
 * request (`actionsOf` + `allows`), as AWS does for an IAM user.
 */

export type S3Action =
  | 's3:PutObject'
  | 's3:PutObjectAcl'
  | 's3:GetObject'
  | 's3:GetObjectAcl'
  | 's3:DeleteObject'
  | 's3:ListBucket'
  | 's3:GetBucketLocation'
  | 's3:AbortMultipartUpload'
  | 's3:ListBucketMultipartUploads'
  | 's3:ListMultipartUploadParts';

export const ALL_ACTIONS: readonly S3Action[] = [
  's3:PutObject',
  's3:PutObjectAcl',
  's3:GetObject',
  's3:GetObjectAcl',
  's3:DeleteObject',
  's3:ListBucket',
  's3:GetBucketLocation',
  's3:AbortMultipartUpload',
  's3:ListBucketMultipartUploads',
  's3:ListMultipartUploadParts',
];

/** Actions on the bucket itself (resource `arn:aws:s3:::bucket`), not on its objects. */
const BUCKET_ACTIONS: ReadonlySet<S3Action> = new Set(['s3:ListBucket', 's3:GetBucketLocation', 's3:ListBucketMultipartUploads']);

export interface AccessGrant {
  /** What the user may do; everything else is denied. */
  actions: readonly S3Action[];
  /** Key prefixes the object actions apply to; the whole bucket when unset. */
  prefixes?: readonly string[];
}

/** The policies the storage suite runs under: full access, Genesys Cloud's and Twilio's write-only one. */
export const GRANTS = {
  full: { actions: ALL_ACTIONS },
  /** Genesys Cloud's (seed 004): Put, PutAcl, List, GetBucketLocation, Get, Delete on the bucket and its objects. */
  genesys: { actions: ['s3:PutObject', 's3:PutObjectAcl', 's3:ListBucket', 's3:GetBucketLocation', 's3:GetObject', 's3:DeleteObject'] },
  /** Twilio's (seed 000): PutObject under the recordings prefixes, nothing else. */
  twilio: { actions: ['s3:PutObject'], prefixes: ['streams/', 'previews/'] },
} satisfies Record<string, AccessGrant>;

/** The actions a request needs, as AWS authorizes it (an ACL header on an upload needs PutObjectAcl too). */
export function actionsOf(method: string, key: string | undefined, query: string[], headers: Record<string, string | string[] | undefined>): Array<S3Action | 'admin'> {
  const q = new Set(query);
  const aclHeader = Object.keys(headers).some((h) => h === 'x-amz-acl' || h.startsWith('x-amz-grant-'));
  if (key === undefined) {
    if (method === 'GET' && q.has('uploads')) return ['s3:ListBucketMultipartUploads'];
    if (method === 'GET' && q.has('location')) return ['s3:GetBucketLocation'];
    if ((method === 'GET' && ![...q].some((x) => ['policy', 'cors', 'acl', 'lifecycle', 'encryption', 'versioning'].includes(x))) || method === 'HEAD') return ['s3:ListBucket'];
    if (method === 'POST' && q.has('delete')) return ['s3:DeleteObject'];
    return ['admin'];
  }
  switch (method) {
    case 'PUT':
      if (q.has('acl')) return ['s3:PutObjectAcl'];
      return q.has('partNumber') || !aclHeader ? ['s3:PutObject'] : ['s3:PutObject', 's3:PutObjectAcl'];
    case 'POST':
      return q.has('uploads') && aclHeader ? ['s3:PutObject', 's3:PutObjectAcl'] : ['s3:PutObject'];
    case 'GET':
    case 'HEAD':
      if (q.has('uploadId')) return ['s3:ListMultipartUploadParts'];
      return [q.has('acl') ? 's3:GetObjectAcl' : 's3:GetObject'];
    case 'DELETE':
      return [q.has('uploadId') ? 's3:AbortMultipartUpload' : 's3:DeleteObject'];
    default:
      return ['admin'];
  }
}

/** Whether a grant allows an action (on a key, for object actions). */
export function allows(grant: AccessGrant, action: S3Action | 'admin', key: string | undefined): boolean {
  if (action === 'admin' || !grant.actions.includes(action)) return false;
  if (BUCKET_ACTIONS.has(action) || !grant.prefixes) return true;
  return key !== undefined && grant.prefixes.some((p) => key.startsWith(p));
}

/**
 * Bucket policy statements that give a principal exactly this grant: Allow
 * the actions, and Deny every other one explicitly — without the Deny, Ceph
 * lets a user read objects it wrote through their ACL, which an IAM user of
 * an AWS bucket with ACLs disabled cannot.
 */
export function policyStatements(bucket: string, principal: string, grant: AccessGrant): object[] {
  const objects = (grant.prefixes ?? ['']).map((p) => `arn:aws:s3:::${bucket}/${p}*`);
  const bucketActions = grant.actions.filter((a) => BUCKET_ACTIONS.has(a));
  const objectActions = grant.actions.filter((a) => !BUCKET_ACTIONS.has(a));
  const denied = ALL_ACTIONS.filter((a) => !grant.actions.includes(a));
  const who = { AWS: [principal] };
  return [
    ...(objectActions.length ? [{ Effect: 'Allow', Principal: who, Action: objectActions, Resource: objects }] : []),
    ...(bucketActions.length ? [{ Effect: 'Allow', Principal: who, Action: bucketActions, Resource: [`arn:aws:s3:::${bucket}`] }] : []),
    ...(denied.length ? [{ Effect: 'Deny', Principal: who, Action: denied, Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`] }] : []),
  ];
}
