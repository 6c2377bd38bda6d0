// `npm run build` (and `npm start`, before it runs): compiles src/ to dist/ with the TypeScript compiler, and copies
// the plain-JavaScript workers (src/**/*.mjs) beside their callers. Incremental: a second build with nothing changed
// takes a second or two. Without the compiler (an install with --omit=dev) an existing dist/ is used as it is.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = path.join(root, 'dist');

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  if (existsSync(path.join(dist, 'main.js'))) {
    console.error('build: the TypeScript compiler is not installed (npm ci --omit=dev); running the dist/ already built');
    process.exit(0);
  }
  console.error('build: the TypeScript compiler is not installed and there is no dist/: run `npm ci` (with dev dependencies), then `npm run build`');
  process.exit(1);
}

const r = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);

function copyWorkers(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const from = path.join(dir, e.name);
    if (e.isDirectory()) copyWorkers(from);
    else if (e.name.endsWith('.mjs')) {
      const to = path.join(dist, path.relative(path.join(root, 'src'), from));
      mkdirSync(path.dirname(to), { recursive: true });
      copyFileSync(from, to);
    }
  }
}
copyWorkers(path.join(root, 'src'));
