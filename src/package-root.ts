/**
 * Where bucketcast's own files are (package.json, config/, public/, docs/):
 * the nearest folder above this module holding bucketcast's package.json. The
 * same code runs from src/ (tsx, tests) and from dist/ (`npm run build`, what
 * `npm start` and the image run), at any depth below the package.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(from: string): { root: string; version: string } {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'bucketcast') return { root: dir, version: pkg.version ?? '0.0.0' };
    }
    if (path.dirname(dir) === dir) throw new Error(`bucketcast's package.json not found above ${from}`);
  }
}

const found = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));

/** The package's folder. */
export const PACKAGE_ROOT = found.root;
/** The package's version (package.json). */
export const PACKAGE_VERSION = found.version;

/** A path inside the package. */
export function packagePath(...parts: string[]): string {
  return path.join(PACKAGE_ROOT, ...parts);
}
