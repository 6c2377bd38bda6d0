/**
 * The storage-target suite (test/helpers/target-suite.ts), which the
 * filesystem target passes too (storage-suite-local.test.ts), against a real
 * Ceph radosgw on loopback.
 */
import { targetSuite } from '../helpers/target-suite.js';
import { startRadosgwTarget } from '../helpers/radosgw-target.js';

const BUCKET = 'targets';

targetSuite(async () => {
  const rgw = await startRadosgwTarget({ kms: false });
  await rgw.createBucket(BUCKET);
  let credentialId: string | undefined;
  return {
    name: 'radosgw',
    bucket: BUCKET,
    async settings(h) {
      credentialId ??= (await h.store.credentials.create({ credentials: `${rgw.credentials.accessKeyId}:${rgw.credentials.secretAccessKey}` })).id;
      return { bucket: BUCKET, endpoint: rgw.endpoint, region: rgw.region, forcePathStyle: true, partSizeMiB: 5, credentials: { source: 'stored', credentialId } };
    },
    async read(_h, key) {
      try {
        return await rgw.getObject(BUCKET, key);
      } catch {
        return undefined;
      }
    },
    async leftovers(_h, prefix) {
      return (await rgw.listMultipartUploads(BUCKET, prefix)).map((u) => `${u.key} (${u.uploadId})`);
    },
    stop: () => rgw.cleanup(),
  };
});
