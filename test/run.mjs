#!/usr/bin/env node
// Runs every test/**/*.test.ts file with Node's test runner (TypeScript through tsx).
// Usage: npm test [-- file-or-substring ...]
//
// Two phases: first the files that mostly wait on real-time media, several at once;
// then the files that drive headless Chromium or transcode, fewer at once, so that a
// 2-core machine is not starved (a starved fake camera or encoder falls behind real time).
import { readdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

const HEAVY = /(whip-(publish|abrupt|media)|player-|playback-|panel)/;

const root = fileURLToPath(new URL('..', import.meta.url));
const testDir = path.join(root, 'test');
const walk = (dir) =>
  readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    if (n === 'helpers' || n.startsWith('.')) return [];
    return statSync(p).isDirectory() ? walk(p) : n.endsWith('.test.ts') ? [p] : [];
  });
const filters = process.argv.slice(2);
let files = walk(testDir).sort();
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files match');
  process.exit(1);
}
const cpus = os.cpus().length;
const phases = [
  { files: files.filter((f) => !HEAVY.test(f)), concurrency: Number(process.env.TEST_CONCURRENCY || Math.max(2, cpus * 2)) },
  { files: files.filter((f) => HEAVY.test(f)), concurrency: Number(process.env.TEST_HEAVY_CONCURRENCY || Math.max(1, cpus)) },
];
let failed = false;
for (const phase of phases) {
  if (phase.files.length === 0) continue;
  const args = ['--import', 'tsx', '--test', `--test-concurrency=${phase.concurrency}`, '--test-reporter=spec', ...phase.files.map((f) => path.relative(root, f))];
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
