/**
 * The storage-target suite (test/helpers/target-suite.ts) against the
 * filesystem target, the local store an app without a bucket uses: objects
 * are plain files at `<dataDir>/bucket/<key>`.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { targetSuite } from '../helpers/target-suite.js';

targetSuite(async () => ({
  name: 'filesystem',
  bucket: 'local',
  settings: async () => ({ partSizeMiB: 5 }),
  async read(h, key) {
    const file = path.join(h.dataDir, 'bucket', key);
    return existsSync(file) ? readFileSync(file) : undefined;
  },
  async leftovers(h, prefix) {
    const dir = path.join(h.dataDir, 'bucket', prefix);
    if (!existsSync(dir)) return [];
    return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.tmp'));
  },
  async stop() {},
}));
