/**
 * AWS and network errors translated where they enter: every failure becomes
 * a `StorageError` that is either `retryable` (the same request may work
 * later: 5xx, throttling, resets, timeouts, an unreachable endpoint) or
 * `permanent` (only a settings change helps: access denied, unknown keys, no
 * such bucket, wrong region, KMS denied, ACLs disabled …), with a stable code
 * and a message that says what to change.
 */
import { AppError, errorMessage } from '../../errors.js';

export type FailureClass = 'retryable' | 'permanent';

export class StorageError extends AppError {
  readonly failureClass: FailureClass;

  constructor(code: string, message: string, failureClass: FailureClass, options?: { cause?: unknown; status?: number }) {
    super(code, message, options?.status ?? (failureClass === 'retryable' ? 503 : 502), { cause: options?.cause });
    this.name = 'StorageError';
    this.failureClass = failureClass;
  }

  get retryable(): boolean {
    return this.failureClass === 'retryable';
  }
}

/** What was being done, to make messages actionable. */
export interface ErrorContext {
  /** `upload`, `head`, `read`, `delete`, `abort` … */
  operation: string;
  bucket: string;
  region: string;
  /** Custom endpoint, when not AWS. */
  endpoint?: string;
  key?: string;
  checksumCalculation?: 'WHEN_REQUIRED' | 'WHEN_SUPPORTED';
  sseMode?: 'none' | 'AES256' | 'aws:kms';
  kmsKeyId?: string;
}

/** The parts of an SDK error we read (service exceptions and network errors). */
interface SdkErrorShape {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  Region?: string;
  Endpoint?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number; headers?: Record<string, string | undefined> };
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED', 'ESOCKETTIMEDOUT', 'EHOSTDOWN']);
const THROTTLING = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequests', 'TooManyRequestsException', 'RequestThrottled', 'ProvisionedThroughputExceededException']);
const TRANSIENT = new Set(['InternalError', 'ServiceUnavailable', 'RequestTimeout', 'RequestTimeoutException', 'TimeoutError', 'ExpiredToken', 'RequestExpired', 'OperationAborted', 'NoSuchUpload']);
const IN_TRANSIT = new Set(['BadDigest', 'InvalidDigest', 'XAmzContentSHA256Mismatch', 'IncompleteBody']);

/** Translates anything an S3 call threw. */
export function classifyS3Error(err: unknown, ctx: ErrorContext): StorageError {
  if (err instanceof StorageError) return err;
  const e = (err ?? {}) as SdkErrorShape;
  const name = e.name ?? '';
  const code = e.Code ?? name;
  const status = e.$metadata?.httpStatusCode ?? e.$response?.statusCode;
  const msg = errorMessage(err);
  const where = ctx.endpoint ? ` at ${ctx.endpoint}` : ` in ${ctx.region}`;
  const bucket = `bucket "${ctx.bucket}"`;
  const retry = (c: string, m: string) => new StorageError(c, m, 'retryable', { cause: err });
  const permanent = (c: string, m: string) => new StorageError(c, m, 'permanent', { cause: err });

  // Not an answer from S3: the request never got one.
  if (status === undefined) {
    const netCode = e.code ?? (err as { cause?: { code?: string } })?.cause?.code;
    if (name === 'CredentialsProviderError' || /could not load credentials/i.test(msg)) {
      return permanent(
        'credentials_missing',
        'no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or a profile or instance role), or use a stored credential (s3.credentials.source "stored")',
      );
    }
    if (netCode === 'ENOENT') return permanent('local_file_missing', `the local file is gone: ${msg}`);
    if (netCode === 'EACCES' || netCode === 'EPERM') return permanent('local_file_unreadable', `the local file cannot be read: ${msg}`);
    if ((netCode && NETWORK_CODES.has(netCode)) || /socket hang up|timed? ?out|network|ECONN|EAI_AGAIN/i.test(msg) || TRANSIENT.has(name)) {
      return retry('unreachable', `cannot reach the S3 service${where} (${netCode ?? name ?? 'network error'}: ${msg}); retrying`);
    }
    if (name === 'AbortError') return retry('aborted', 'the upload was interrupted; it will start again');
    return retry('unexpected', `unexpected error during ${ctx.operation}: ${msg}`);
  }

  const region = bucketRegion(e, msg);
  if (region && region !== ctx.region) {
    return permanent('wrong_region', `${bucket} is in ${region}, not ${ctx.region}: set s3.region to "${region}"`);
  }
  if (code === 'PermanentRedirect' || code === 'AuthorizationHeaderMalformed' || code === 'IllegalLocationConstraintException' || status === 301) {
    return permanent('wrong_region', `${bucket} is not in ${ctx.region} (S3 answered ${code || status}): set s3.region to the bucket's region`);
  }
  // AWS: KMS.* codes, or AccessDenied naming a kms: action. Ceph radosgw: 403 InvalidAccessKeyId "Failed to
  // retrieve the actual key, kms-keyid: …", or 400 InvalidArgument asking for the key id header.
  if (code.startsWith('KMS.') || ((status === 400 || status === 403) && /\bkms\b|kms[:-]|key management/i.test(msg))) {
    const key = ctx.kmsKeyId ? ` "${ctx.kmsKeyId}"` : '';
    const fix = ctx.kmsKeyId ? 'allow kms:GenerateDataKey and kms:Decrypt on it for these credentials (multipart uploads need kms:Decrypt too), or fix s3.sse.kmsKeyId' : 'set s3.sse.kmsKeyId to a key these credentials may use (kms:GenerateDataKey and kms:Decrypt)';
    return permanent('kms_denied', `the KMS key${key} cannot be used (${code}: ${said(msg)}): ${fix}`);
  }
  // Services that cannot encrypt, or not over plain HTTP (Ceph radosgw: rgw_crypt_require_ssl), refuse the SSE header.
  if (ctx.sseMode && ctx.sseMode !== 'none' && (status === 400 || status === 501) && ['InvalidRequest', 'InvalidArgument', 'NotImplemented', 'InvalidEncryptionAlgorithmError'].includes(code)) {
    const tls = ctx.endpoint?.startsWith('http:') ? 'S3-compatible services often accept it only over HTTPS (Ceph radosgw: rgw_crypt_require_ssl): use an https:// endpoint, or ' : '';
    return permanent('sse_rejected', `the S3 service refused server-side encryption "${ctx.sseMode}" (${code}: ${said(msg)}): ${tls}set s3.sse.mode to "none" if the service cannot encrypt`);
  }
  switch (code) {
    case 'InvalidAccessKeyId':
      return permanent('invalid_credentials', `the access key id is not known to the S3 service${where}: check the credentials`);
    case 'SignatureDoesNotMatch':
      return permanent('invalid_credentials', `the secret access key does not match the access key id (signature mismatch)${where}: check the credentials`);
    case 'InvalidToken':
    case 'TokenRefreshRequired':
      return permanent('invalid_credentials', `the session token was refused${where}: check the credentials or the assumed role`);
    case 'NoSuchBucket':
      return permanent('bucket_not_found', `${bucket} does not exist${where}: create it or fix s3.bucket`);
    case 'AccessControlListNotSupported':
      return permanent('acl_not_supported', `${bucket} has ACLs disabled (object ownership "bucket owner enforced"): remove s3.acl`);
    case 'InvalidStorageClass':
      return permanent('bad_setting', `the storage class is not accepted by ${bucket}: fix s3.storageClass (${msg})`);
    case 'InvalidBucketName':
      return permanent('bad_setting', `"${ctx.bucket}" is not a valid bucket name here: fix s3.bucket`);
    case 'RequestTimeTooSkewed':
      return permanent('clock_skew', "this server's clock differs from the S3 service's by too much: fix the clock (NTP)");
  }
  if ((code === 'NotImplemented' || code === 'InvalidRequest' || code === 'InvalidArgument' || status === 400 || status === 501) && ctx.checksumCalculation === 'WHEN_SUPPORTED' && /checksum|trailer|chunked|content-sha256|content-encoding/i.test(`${code} ${msg}`)) {
    return permanent('checksum_unsupported', `the S3 service refused the SDK's checksum headers (${code}: ${msg}): set s3.checksumCalculation to "WHEN_REQUIRED"`);
  }
  if (IN_TRANSIT.has(code)) return retry('corrupted_in_transit', `the data did not arrive intact (${code}); sending it again`);
  if (THROTTLING.has(code) || status === 429 || status === 503) return retry('throttled', `S3 asks to slow down (${code || status}); retrying`);
  if (TRANSIENT.has(code) || status >= 500 || e.$retryable) return retry('server_error', `the S3 service failed (${code || status}: ${msg}); retrying`);
  if (code === 'AccessDenied' || status === 403) {
    const what = ctx.key ? ` on "${ctx.key}"` : '';
    return permanent('access_denied', `access denied by ${bucket} (${ctx.operation}${what}): the credentials need ${permissionFor(ctx.operation)} on this bucket and prefix`);
  }
  if (status === 404) return permanent('not_found', `${bucket}${where} answered 404 Not Found to ${ctx.operation}: check s3.bucket and s3.endpoint`);
  return permanent('rejected', `the S3 service refused ${ctx.operation} (${code || status}: ${msg})`);
}

/** The service's own words; the SDK says "UnknownError" when the answer had none. */
function said(msg: string): string {
  return msg && msg !== 'UnknownError' ? msg : 'no message';
}

/** The region a wrong-region answer names: header, error fields, or message. */
function bucketRegion(e: SdkErrorShape, msg: string): string | undefined {
  const header = e.$response?.headers?.['x-amz-bucket-region'];
  if (header) return header;
  if (e.Region) return e.Region;
  const fromMsg = /expecting '([a-z0-9-]+)'/.exec(msg)?.[1] ?? /bucket is in this region: ([a-z0-9-]+)/i.exec(msg)?.[1];
  if (fromMsg) return fromMsg;
  const fromEndpoint = e.Endpoint && /s3[.-]([a-z]{2}(?:-[a-z]+)+-\d)\./.exec(e.Endpoint)?.[1];
  return fromEndpoint || undefined;
}

function permissionFor(operation: string): string {
  switch (operation) {
    case 'head':
    case 'read':
      return 's3:GetObject';
    case 'delete':
      return 's3:DeleteObject';
    case 'abort':
      return 's3:AbortMultipartUpload';
    case 'list uploads':
      return 's3:ListBucketMultipartUploads';
    default:
      return 's3:PutObject';
  }
}
