/**
 * The permission report of storage validation: which S3 permissions the
 * credentials have on the app's prefix, and what each missing one costs, in
 * plain words (the panel and the API show these sentences as they are).
 * Only `put` is needed for uploads; the others are warnings.
 */

export type PermissionName = 'put' | 'head' | 'get' | 'list' | 'delete' | 'abort-multipart';
export type PermissionStatus = 'allowed' | 'denied' | 'unknown';

export interface PermissionCheck {
  permission: PermissionName;
  /** The IAM action that grants it. */
  action: string;
  status: PermissionStatus;
  /** What is lost without it (only when denied). */
  cost?: string;
}

interface PermissionInfo {
  action: string;
  cost: (testObject: string) => string;
}

/** Each permission, in report order, with the action that grants it and the cost of its absence. */
export const PERMISSIONS: Record<PermissionName, PermissionInfo> = {
  put: {
    action: 's3:PutObject',
    cost: () => 'no PutObject: nothing can be uploaded; recordings stay on local disk until the credentials or the policy are fixed',
  },
  head: {
    action: 's3:GetObject',
    cost: () => "no HeadObject (s3:GetObject): uploads are confirmed from the upload's own answer (ETags and checksums computed locally) instead of a HEAD of the stored object",
  },
  get: {
    action: 's3:GetObject',
    cost: () => 'no GetObject: presigned and proxy playback cannot work; use redirect with a public bucket or CDN',
  },
  list: {
    action: 's3:ListBucket',
    cost: () => 'no ListBucket: S3 answers 403 instead of 404 for an object that is not there, so a recording missing from the bucket reads as "access denied" rather than "not found"; uploads do not need it',
  },
  delete: {
    action: 's3:DeleteObject',
    cost: (testObject) => `no DeleteObject: deleting a recording from the panel leaves its objects in the bucket (use a lifecycle expiration rule); this check's test object stays at ${testObject}`,
  },
  'abort-multipart': {
    action: 's3:AbortMultipartUpload',
    cost: () => 'no AbortMultipartUpload: parts of an interrupted upload stay in the bucket (and are billed) until a lifecycle rule removes them — add AbortIncompleteMultipartUpload to the bucket lifecycle',
  },
};

/** A permission's entry for the report. */
export function permissionCheck(permission: PermissionName, status: PermissionStatus, testObject: string): PermissionCheck {
  const info = PERMISSIONS[permission];
  return { permission, action: info.action, status, ...(status === 'denied' && { cost: info.cost(testObject) }) };
}
