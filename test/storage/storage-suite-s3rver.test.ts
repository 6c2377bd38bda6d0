/**
 * The shared storage suite (test/helpers/storage-suite.ts) against
 * s3rver, with AWS's answers to least-privilege policies and KMS emulated
 * (test/helpers/s3.ts).
 */
import { storageSuite } from '../helpers/storage-suite.js';
import { startS3Target } from '../helpers/s3.js';

storageSuite(startS3Target);
