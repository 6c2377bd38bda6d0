// Folder import graph of src/: `node scripts/import-graph.mjs [root=src] [depth=1] [all]` prints cycles between folders (root files
// main.ts/errors.ts/lifecycle.ts aside), and with `all` every edge with its count (docs/architecture.md draws them).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
const root = process.argv[2] ?? 'src';
const depth = Number(process.argv[3] ?? 1);
const walk = (d) => readdirSync(d).flatMap((n) => { const p = path.join(d, n); return statSync(p).isDirectory() ? walk(p) : /\.(ts|mjs)$/.test(n) ? [p] : []; });
const mod = (f) => { const parts = path.relative(root, f).split(path.sep); return parts.length > depth ? parts.slice(0, depth).join('/') : '(root)'; };
const edges = new Map();
for (const f of walk(root)) {
  const t = readFileSync(f, 'utf8');
  for (const m of t.matchAll(/from\s+'(\.{1,2}\/[^']+)'/g)) {
    const target = path.normalize(path.join(path.dirname(f), m[1]));
    const a = mod(f), b = mod(target);
    if (a !== b) { const k = `${a} -> ${b}`; edges.set(k, (edges.get(k) ?? 0) + 1); }
  }
}
const pairs = [...edges.keys()];
for (const k of pairs) { const [a, b] = k.split(' -> '); if (edges.has(`${b} -> ${a}`) && a < b) console.log(`CYCLE ${a} <-> ${b}`); }
if (process.argv.includes('all')) for (const [k, v] of edges) console.log(k, v);
