#!/usr/bin/env node
// Where the event loop was held: runs of consecutive non-idle samples in a V8 CPU profile, longest first,
// with the functions that ran (self time) and the callers they ran under (inclusive time).
//
//   CPU_PROFILE_DIR=/tmp/prof npm run soak -- --minutes 5      # servers started by the test helper write profiles
//   node bench/cpu-blocks.mjs /tmp/prof/CPU.*.cpuprofile [min-ms, default 150]   (one report per profile)
import { readFileSync } from 'node:fs';
function report(file, minMs) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  console.log(`# ${file}`);
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (n) => `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/.*node_modules\//, 'nm/').replace(/.*\/work\/main\//, '')}:${n.callFrame.lineNumber + 1}`;
  const stack = (id) => { const out = []; for (let x = id; x !== undefined; x = parent.get(x)) out.push(name(byId.get(x))); return out; };
  let t = p.startTime, runStart = null, run = [];
  const runs = [];
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i];
    const n = byId.get(p.samples[i]);
    const idle = n.callFrame.functionName === '(idle)';
    if (!idle) { if (runStart === null) runStart = t; run.push([p.samples[i], p.timeDeltas[i + 1] ?? 0]); }
    else if (runStart !== null) { runs.push({ start: runStart, ms: (t - runStart) / 1000, run }); runStart = null; run = []; }
  }
  runs.sort((a, b) => b.ms - a.ms);
  for (const r of runs.filter((r) => r.ms >= minMs).slice(0, 6)) {
    console.log(`\n=== block of ${r.ms.toFixed(0)} ms at +${((r.start - p.startTime) / 1e6).toFixed(1)} s`);
    const self = new Map(), incl = new Map();
    for (const [id, dt] of r.run) {
      const k = name(byId.get(id)); self.set(k, (self.get(k) ?? 0) + dt);
      for (const f of new Set(stack(id))) incl.set(f, (incl.get(f) ?? 0) + dt);
    }
    console.log('self:'); for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`  ${(v / 1000).toFixed(0).padStart(5)} ms  ${k}`);
    console.log('inclusive (ours / libs):'); for (const [k, v] of [...incl].sort((a, b) => b[1] - a[1]).filter(([k]) => !k.startsWith('(')).slice(0, 14)) console.log(`  ${(v / 1000).toFixed(0).padStart(5)} ms  ${k}`);
  }
}

const args = process.argv.slice(2);
const files = args.filter((a) => !/^\d+$/.test(a));
const minMs = Number(args.find((a) => /^\d+$/.test(a)) ?? 150);
if (files.length === 0) {
  console.error('usage: node bench/cpu-blocks.mjs <file.cpuprofile> ... [min-ms]');
  process.exit(2);
}
for (const f of files) report(f, minMs);
