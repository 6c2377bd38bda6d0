/**
 * S3 clients for upload targets. Checksum behaviour follows
 * `s3.checksumCalculation` (the SDK's requestChecksumCalculation /
 * responseChecksumValidation). The uploader sets Content-MD5, the payload
 * SHA-256 and (WHEN_SUPPORTED) the CRC32 of every body itself, from the
 * reader thread's hashes, so the SDK hashes nothing on the event loop and
 * never switches to the aws-chunked trailer some servers refuse.
 */
import { S3Client } from '@aws-sdk/client-s3';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';

export interface ClientSpec {
  region: string;
  /** S3-compatible endpoint; AWS when unset. */
  endpoint?: string;
  forcePathStyle: boolean;
  /** Fixed keys or a provider (default chain, stored credential, assumed role). */
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** The SDK's requestChecksumCalculation and responseChecksumValidation. */
  checksumCalculation: 'WHEN_REQUIRED' | 'WHEN_SUPPORTED';
  /** Milliseconds a request may go without a byte either way before it is aborted (retryable). */
  inactivityTimeoutMs: number;
}

/** A client for one target. */
export function createS3Client(spec: ClientSpec): S3Client {
  const client = new S3Client({
    region: spec.region,
    endpoint: spec.endpoint,
    forcePathStyle: spec.forcePathStyle,
    credentials: spec.credentials,
    requestChecksumCalculation: spec.checksumCalculation,
    responseChecksumValidation: spec.checksumCalculation,
    // Our queue retries with its own backoff; the SDK only smooths over single hiccups.
    maxAttempts: 3,
    // socketTimeout is the idle timeout (no byte either way): a stalled server fails the attempt
    // instead of hanging it. `requestTimeout` would bound a whole part upload on a slow link, and
    // without throwOnRequestTimeout it only prints a warning to the console.
    requestHandler: { connectionTimeout: 10_000, socketTimeout: spec.inactivityTimeoutMs },
  });

  return client;
}
