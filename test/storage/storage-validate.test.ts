/**
 * Storage validation (write a test object, again as a multipart
 * upload, HEAD it, read it back, list it, probe abort, delete it) passes on a
 * good bucket and names the failure on each bad setting; bucket names outside
 * 7-bit ASCII are refused before any request. Also from the command line:
 * `npm run storage:validate -- --app <name>`. The permission report under
 * least-privilege policies is in the shared suite (storage-suite.ts), which
 * runs against s3rver and radosgw.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { credentialEnv, s3SettingsFor, startS3Target, type S3TestTarget } from '../helpers/s3.js';
import { appOf } from '../helpers/storage.js';
import { ROOT } from '../helpers/server.js';
import { validateStorage, type ValidationReport } from '../../src/storage/validation/validate.js';
import { TargetResolver } from '../../src/storage/targets/targets.js';
import { openSqliteStore, type SqliteStore } from '../../src/db/sqlite/index.js';
import type { AppSettings } from '../../src/config/schema.js';

let s3: S3TestTarget;
let store: SqliteStore;
let dataDir: string;
let resolver: TargetResolver;
const creds: Record<string, string> = {};

before(async () => {
  s3 = await startS3Target();
  await s3.createBucket('good');
  await s3.createBucket('eu-bucket');
  s3.setBucketRegion('eu-bucket', 'eu-west-1');
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-validate-'));
  store = openSqliteStore({ dataDir });
  creds.good = (await store.credentials.create({ credentials: 'S3RVER:whatever-secret' })).id;
  creds.wrong = (await store.credentials.create({ credentials: 'AKIANOTKNOWN0000:secret' })).id;
  resolver = new TargetResolver({ credentials: store.credentials, localRoot: path.join(dataDir, 'bucket') });
});

after(async () => {
  resolver.close();
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
  await s3.cleanup();
});

function app(name: string, settings: Record<string, unknown>): AppSettings {
  return appOf({ name, s3: { ...s3SettingsFor(s3, 'good'), credentials: { source: 'stored', credentialId: creds.good }, prefix: 'recordings', ...settings } });
}

function statuses(r: ValidationReport): string {
  return r.steps.map((s) => `${s.step}:${s.status}`).join(' ');
}

test('a good bucket passes every step, and the test object is gone afterwards', async () => {
  const r = await validateStorage(app('ok', {}), resolver);
  assert.equal(statuses(r), 'bucket name:ok credentials:ok write:ok multipart:ok head:ok read:ok list:ok abort multipart:ok delete:ok');
  assert.equal(r.ok, true);
  assert.deepEqual(r.warnings, []);
  assert.ok(r.permissions.every((p) => p.status === 'allowed' && !p.cost));
  assert.match(r.key!, /^recordings\/streams\/bucketcast-validation-\d{8}T\d{6}Z-[0-9a-f]{6}\.txt$/, 'under the prefix, where recordings go');
  assert.match(r.steps[2].message, /^wrote the test object s3:\/\/good\/recordings\/streams\/bucketcast-validation-.*\.txt \(\d+ bytes\)$/);
  assert.equal(s3.writes('good').get(r.key!), 2, 'written once, then again as a multipart upload');
  assert.deepEqual(await s3.listObjects('good', 'recordings/'), [], 'the test object was deleted');
});

test('each bad setting is named', async () => {
  const wrongCreds = await validateStorage(app('creds', { credentials: { source: 'stored', credentialId: creds.wrong } }), resolver);
  assert.equal(wrongCreds.ok, false);
  assert.equal(statuses(wrongCreds), 'bucket name:ok credentials:ok write:failed multipart:skipped head:skipped read:skipped list:skipped abort multipart:skipped delete:skipped');
  assert.ok(wrongCreds.permissions.every((p) => p.status === 'unknown'), 'nothing is known of the permissions');
  assert.equal(wrongCreds.steps[2].code, 'invalid_credentials');
  assert.match(wrongCreds.steps[2].message, /access key id is not known/);

  const missing = await validateStorage(app('missing', { bucket: 'no-such-bucket' }), resolver);
  assert.equal(missing.steps[2].code, 'bucket_not_found');
  assert.match(missing.steps[2].message, /bucket "no-such-bucket" does not exist/);

  const region = await validateStorage(app('region', { bucket: 'eu-bucket' }), resolver);
  assert.equal(region.steps[2].code, 'wrong_region');
  assert.match(region.steps[2].message, /bucket "eu-bucket" is in eu-west-1, not us-east-1: set s3\.region to "eu-west-1"/);
  assert.equal((await validateStorage(app('region', { bucket: 'eu-bucket', region: 'eu-west-1' }), resolver)).ok, true);

  const noCredential = await validateStorage(app('gone', { credentials: { source: 'stored', credentialId: `CR${'0'.repeat(32)}` } }), resolver);
  assert.equal(statuses(noCredential), 'bucket name:ok credentials:failed write:skipped multipart:skipped head:skipped read:skipped list:skipped abort multipart:skipped delete:skipped');
  assert.match(noCredential.steps[1].message, /stored credential CR0+ does not exist/);

  const before = s3.requests.length;
  // The API may hand over settings that never went through the schema: the name is checked first, nothing is sent.
  const accented = await validateStorage({ ...app('ascii', {}), s3: { ...app('ascii', {}).s3, bucket: 'enregistrements-été' } }, resolver);
  assert.equal(accented.ok, false);
  assert.equal(accented.steps[0].status, 'failed');
  assert.match(accented.steps[0].message, /7-bit ASCII/);
  assert.equal(s3.requests.length, before, 'no request was sent');
});

test('the local store (no bucket set) validates: a test file written under bucket/, read back and removed; an unusable folder fails clearly', async () => {
  const r = await validateStorage(appOf({ name: 'newcomer' }), resolver);
  assert.equal(r.ok, true, statuses(r));
  assert.equal(r.target.embedded, true);
  assert.equal(r.target.bucket, 'local');
  assert.match(r.key!, /^newcomer\/streams\//);
  assert.ok(existsSync(path.join(dataDir, 'bucket', 'newcomer', 'streams')), 'written under <dataDir>/bucket/');
  assert.deepEqual(readdirSync(path.join(dataDir, 'bucket', 'newcomer', 'streams')), [], 'the test file (and no temporary file) is left');
  // A file where the folder should be: the write fails with a message, nothing else is tried.
  const blocked = path.join(dataDir, 'not-a-folder');
  writeFileSync(blocked, 'x');
  const bad = new TargetResolver({ localRoot: blocked });
  try {
    const b = await validateStorage(appOf({ name: 'newcomer' }), bad);
    assert.equal(b.ok, false);
    const write = b.steps.find((x) => x.step === 'write')!;
    assert.equal(write.status, 'failed');
    assert.match(write.message, /could not write the test file/);
  } finally {
    bad.close();
  }
});

/** Runs the CLI without blocking this process (s3rver answers from it). */
function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn('npm', ['run', '-s', 'storage:validate', '--', ...args], { cwd: ROOT, env });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

test('the CLI reports in plain words, as JSON on request, and exits 0 or 1', async () => {
  const cfgDir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-cli-'));
  try {
    const config = path.join(cfgDir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        server: { dataDir: path.join(cfgDir, 'data') },
        applications: [
          { name: 'live', s3: s3SettingsFor(s3, 'good', { prefix: 'cli' }) },
          { name: 'broken', s3: s3SettingsFor(s3, 'missing-bucket') },
        ],
      }),
    );
    const env = { ...process.env, ...credentialEnv(s3), BUCKETCAST_CONFIG: config };
    const ok = await cli(['--app', 'live'], env);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^Storage check for app "live": bucket "good" in us-east-1 at http:\/\/127\.0\.0\.1:\d+, prefix "cli"$/m);
    assert.match(ok.stdout, /ok\s+write\s+wrote the test object s3:\/\/good\/cli\/streams\//);
    assert.match(ok.stdout, /^Permissions:$/m);
    assert.match(ok.stdout, /^ {2}allowed +abort-multipart +s3:AbortMultipartUpload$/m);
    assert.match(ok.stdout, /^Result: OK/m);

    const bad = await cli(['--app', 'broken', '--json'], env);
    assert.equal(bad.status, 1, bad.stderr);
    const report = JSON.parse(bad.stdout) as ValidationReport;
    assert.equal(report.ok, false);
    assert.equal(report.steps.find((s) => s.step === 'write')?.code, 'bucket_not_found');

    const unknown = await cli(['--app', 'nope'], env);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /no application "nope"/);
  } finally {
    rmSync(cfgDir, { recursive: true, force: true });
  }
});
