/**
 * The shared storage suite (test/helpers/storage-suite.ts) against a
 * real Ceph radosgw on loopback: real signatures, part sizes, bucket policies
 * and KMS (its "testing" backend, over plain HTTP; checksum handling is Ceph
 * 16's default). One instance for the whole file.
 */
import { storageSuite } from '../helpers/storage-suite.js';
import { startRadosgwTarget } from '../helpers/radosgw-target.js';

storageSuite(() => startRadosgwTarget());
