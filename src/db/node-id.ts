/** This node's identity in the shared database (leases, claims, rows it owns). */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../config/schema.js';

/** This node's id (stable across restarts; see `nodeId`). */
export function nodeIdOf(config: Config): string {
  return nodeId(path.resolve(config.server.dataDir));
}

/**
 * This node's id, kept in `<dataDir>/node-id`, so a restarted node takes back
 * its own leases at once instead of waiting for them to expire.
 */
export function nodeId(dataDir: string): string {
  const file = path.join(dataDir, 'node-id');
  if (existsSync(file)) {
    const id = readFileSync(file, 'utf8').trim();
    if (id) return id;
  }
  mkdirSync(dataDir, { recursive: true });
  const id = `${os.hostname().replace(/[^\w.-]/g, '') || 'node'}-${randomBytes(4).toString('hex')}`;
  writeFileSync(file, `${id}\n`);
  return id;
}
