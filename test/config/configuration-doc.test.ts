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
