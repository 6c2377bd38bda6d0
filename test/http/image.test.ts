/**
 * The image. No Docker daemon runs where the suite runs, so
 * this checks the Dockerfile's shape (what a build would give).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, SERVER_NODE_FLAGS } from '../helpers/server.js';

const read = (f: string) => readFileSync(path.join(ROOT, f), 'utf8');

test('Dockerfile: multi-stage on Node 22 LTS, compilers only in the build stage, a non-root user owning /data', () => {
  const stages = read('Dockerfile').split(/^FROM /m).slice(1);
  assert.equal(stages.length, 2, 'a build stage and a runtime stage');
  for (const s of stages) assert.match(s, /^node:22-bookworm-slim/, 'Node 22 LTS');
  const [build, runtime] = stages;
  assert.match(build, /g\+\+/);
  assert.doesNotMatch(runtime, /\b(g\+\+|make|python3)\b/, 'no build tools in the image');
  assert.match(runtime, /COPY --from=build/);
  assert.match(runtime, /chown node:node \/data/);
  const users = [...runtime.matchAll(/^USER (\S+)/gm)].map((m) => m[1]);
  assert.deepEqual(users, ['node'], 'runs as node');
  assert.ok(runtime.indexOf('USER node') < runtime.indexOf('CMD'), 'before the command');
});

test('the image runs the compiled server as npm start does, built in the build stage before the dev dependencies go', () => {
  const cmd = /^CMD (\[.*\])$/m.exec(read('Dockerfile'))?.[1];
  assert.ok(cmd, 'a CMD in exec form');
  const argv = JSON.parse(cmd) as string[];
  assert.deepEqual(argv, ['node', ...SERVER_NODE_FLAGS, 'dist/main.js']);
  assert.ok(SERVER_NODE_FLAGS.length > 0, 'npm start sets the heap flags');
  const scripts = JSON.parse(read('package.json')).scripts as Record<string, string>;
  assert.equal(scripts.prestart, scripts.build, 'npm start builds first');
  const build = read('Dockerfile').split(/^FROM /m)[1];
  const runBuild = build.indexOf('npm run build');
  assert.ok(runBuild > build.indexOf('COPY src') && runBuild > build.indexOf('tsconfig.build.json'), 'built from the copied sources');
  assert.ok(runBuild < build.indexOf('npm prune --omit=dev'), 'before the compiler is pruned');
});

test('engines still allow Node 20; CI ends with the README test command', () => {
  assert.equal(JSON.parse(read('package.json')).engines.node, '>=20');
  const ci = read('.ci/run').trim().split('\n');
  const readmeTest = /^(npm test)\s+# every test/m.exec(read('README.md'))?.[1];
  assert.equal(readmeTest, 'npm test', "the README's test command");
  assert.equal(ci[ci.length - 1], readmeTest);
});

test('CI runs the whole suite on Node 22 (no file filter) before the README test command', () => {
  const ci = read('.ci/run').trim().split('\n').filter((l) => !l.startsWith('#'));
  const node22 = ci.filter((l) => /\.ci\/node22/.test(l));
  assert.deepEqual(node22, ['bash .ci/node22'], 'one Node 22 pass, no file filter (a filter would leave most of the suite untested on the image runtime)');
  assert.ok(ci.indexOf('bash .ci/node22') < ci.lastIndexOf('npm test'));
  const script = read('.ci/node22');
  assert.match(script, /npm install [^\n]*node@22/, "Node 22 from npm's node@22 package");
  assert.match(script, /^npm test -- "\$@"$/m, 'with no argument, run.mjs gets no filter: every file');
});
