/**
 * The docs are checked against the code: docs/configuration.md is what `npm run docs:config` generates from the
 * config schema, every config key has a description, and every `src/…` or `test/…` path the docs name exists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configKeys, renderConfigDoc, CONFIG_DOC_PATH } from '../../scripts/config-doc.js';

const ROOT = join(import.meta.dirname, '..', '..');

test('docs/configuration.md is the one generated from the schema', () => {
  const file = join(ROOT, CONFIG_DOC_PATH);
  assert.ok(existsSync(file), `${CONFIG_DOC_PATH} is missing: run \`npm run docs:config\``);
  const onDisk = readFileSync(file, 'utf8');
  const generated = renderConfigDoc();
  if (onDisk !== generated) {
    const a = onDisk.split('\n');
    const b = generated.split('\n');
    const i = a.findIndex((line, n) => line !== b[n]);
    assert.fail(`${CONFIG_DOC_PATH} is out of date (first difference at line ${i + 1}:\n  file:      ${a[i]}\n  generated: ${b[i]})\nrun \`npm run docs:config\` and commit the result`);
  }
});

test('every config key has a description (.describe() in src/config/*-schema.ts)', () => {
  const keys = configKeys();
  assert.ok(keys.length > 100, `only ${keys.length} keys found: is the walk of the JSON Schema broken?`);
  for (const path of ['server.httpPort', 'storage.concurrentUploads', 'api.login.lockoutSeconds', 'whip.iceServers', 'applications[].s3.bucket', 'applications[].sources[].url']) {
    assert.ok(keys.some((k) => k.path === path), `${path} is not in the generated list`);
  }
  const missing = keys.filter((k) => !k.description?.trim()).map((k) => k.path);
  assert.deepEqual(missing, [], `config keys without a description: ${missing.join(', ')}: add .describe('…') in the schema`);
  const env = keys.filter((k) => k.env).map((k) => `${k.env} ${k.path}`);
  assert.ok(env.includes('BUCKETCAST_HTTP_PORT server.httpPort'), env.join('\n'));
  assert.ok(env.includes('BUCKETCAST_S3_BUCKET applications[].s3.bucket'), env.join('\n'));
});

test('every src/… and test/… path named in README.md and docs/*.md exists', () => {
  const files = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  const missing: string[] = [];
  let checked = 0;
  for (const f of files) {
    const text = readFileSync(join(ROOT, f), 'utf8');
    // `src/x/y.ts`, `src/x/`, `test/x/y.test.ts`, also with a `:line` or ` fn()` after the path.
    for (const m of text.matchAll(/`((?:src|test)\/[A-Za-z0-9_.\/-]+)[^`]*`/g)) {
      const path = m[1].replace(/[.:]+$/, '');
      checked++;
      if (!existsSync(join(ROOT, path))) missing.push(`${f}: ${path}`);
    }
  }
  assert.ok(checked > 10, `only ${checked} paths found in the docs`);
  assert.deepEqual(missing, [], `paths named in the docs that do not exist:\n${missing.join('\n')}`);
});

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to `-`. */
function anchorsOf(markdown: string): Set<string> {
  const out = new Set<string>();
  const text = markdown.replace(/```[\s\S]*?```/g, '');
  for (const m of text.matchAll(/^#{1,6} (.+)$/gm)) {
    out.add(m[1].trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-'));
  }
  return out;
}

test('every relative link in README.md and docs/*.md reaches a file (and its heading)', () => {
  const files = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  const broken: string[] = [];
  for (const f of files) {
    const text = readFileSync(join(ROOT, f), 'utf8').replace(/```[\s\S]*?```/g, '');
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const href = m[1];
      if (/^[a-z]+:/i.test(href)) continue;
      const [target, anchor] = href.split('#', 2);
      const path = target ? join(ROOT, f, '..', target) : join(ROOT, f);
      if (!existsSync(path)) {
        broken.push(`${f}: ${href} (no such file)`);
        continue;
      }
      if (anchor && path.endsWith('.md') && !anchorsOf(readFileSync(path, 'utf8')).has(anchor)) broken.push(`${f}: ${href} (no such heading)`);
    }
  }
  assert.deepEqual(broken, []);
});

test('every `npm test -- <name>` in the docs runs at least one test file', () => {
  const testFiles: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      if (e.isDirectory()) walk(`${dir}/${e.name}`);
      else if (e.name.endsWith('.test.ts')) testFiles.push(`${dir}/${e.name}`);
    }
  };
  walk('test');
  const files = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  const none: string[] = [];
  for (const f of files) {
    for (const m of readFileSync(join(ROOT, f), 'utf8').matchAll(/npm test -- ([a-z0-9 -]+)/g)) {
      for (const name of m[1].trim().split(/\s+/)) if (!testFiles.some((t) => t.includes(name))) none.push(`${f}: ${name}`);
    }
  }
  assert.deepEqual(none, [], 'names that match no test file');
});

test('the import graph in docs/architecture.md is the one in src/', () => {
  // The same walk as scripts/import-graph.mjs at depth 1: an edge per folder importing another, left out:
  // imports of the root files (src/errors.ts, src/lifecycle.ts, src/main.ts) and of src/log, which every folder has.
  const edges = new Set<string>();
  const walk = (dir: string): string[] =>
    readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(`${dir}/${e.name}`) : /\.(ts|mjs)$/.test(e.name) ? [`${dir}/${e.name}`] : []));
  const folderOf = (p: string): string => {
    const parts = p.split('/');
    return parts.length > 2 ? parts[1] : '(root)';
  };
  for (const f of walk('src')) {
    for (const m of readFileSync(join(ROOT, f), 'utf8').matchAll(/from\s+'(\.{1,2}\/[^']+)'/g)) {
      const target = join(f, '..', m[1]);
      const a = folderOf(f);
      const b = folderOf(target);
      if (a !== b && a !== '(root)' && b !== '(root)' && b !== 'log') edges.add(`${a} --> ${b}`);
    }
  }
  const doc = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
  const block = /```mermaid\n([\s\S]*?)```/.exec(doc)?.[1] ?? '';
  const drawn = new Set([...block.matchAll(/^\s*(\S+) --> (\S+)\s*$/gm)].map((m) => `${m[1]} --> ${m[2]}`));
  const missing = [...edges].filter((e) => !drawn.has(e)).sort();
  const extra = [...drawn].filter((e) => !edges.has(e)).sort();
  assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, 'update the mermaid graph in docs/architecture.md (edges: node scripts/import-graph.mjs src 1 all)');
});
