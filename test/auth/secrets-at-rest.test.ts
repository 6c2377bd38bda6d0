/**
 * Secrets at rest. The key that encrypts stored secrets can
 * come from a file (`BUCKETCAST_SECRET_KEY_FILE`, Docker/systemd secrets); a
 * key in the data dir is warned about at every start; the data dir is 0700 and
 * the database 0600; `npm run secrets:rotate` re-encrypts with a new key;
 * `BUCKETCAST_ADMIN_PASSWORD` under 12 characters is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { ROOT, startServer } from '../helpers/server.js';
import { adminEnv } from '../helpers/api.js';
import { openSqliteStore } from '../../src/db/sqlite/index.js';
import { SecretBox } from '../../src/db/secret-box.js';
import { SourceStore } from '../../src/sources/source-store.js';
import { DestinationBook } from '../../src/storage/destinations/book.js';
import { createLogger } from '../../src/log/logger.js';

const KEY_WARNING = /key that encrypts stored secrets is in the data dir/;

test('a BUCKETCAST_ADMIN_PASSWORD under 12 characters is refused with a clear error', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-test-'));
  try {
    await assert.rejects(startServer({ dataDir, env: { BUCKETCAST_ADMIN_PASSWORD: 'short-pass1' } }), /BUCKETCAST_ADMIN_PASSWORD must be at least 12 characters \(it has 11\)/);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('data dir 0700, database 0600, a warning while the key lives in the data dir', async () => {
  const server = await startServer({ env: adminEnv() });
  try {
    assert.equal(statSync(server.dataDir).mode & 0o777, 0o700, 'data dir');
    for (const f of ['bucketcast.db', 'bucketcast.db-wal', 'secret.key']) {
      const p = path.join(server.dataDir, f);
      if (existsSync(p)) assert.equal(statSync(p).mode & 0o077, 0, `${f} readable by the server user only`);
    }
    assert.ok(server.logs.some((l) => l.level === 'warn' && KEY_WARNING.test(String(l.msg))), 'the key-beside-the-database warning');
  } finally {
    await server.stop();
    server.cleanup();
  }
});

test('BUCKETCAST_SECRET_KEY_FILE: the key from a file outside the data dir; secrets:rotate re-encrypts with a new one', async () => {
  const keys = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-keys-'));
  const oldKey = path.join(keys, 'old.key');
  const newKey = path.join(keys, 'new.key');
  writeFileSync(oldKey, `${'ab'.repeat(32)}\n`, { mode: 0o600 });
  const server = await startServer({ env: adminEnv({ BUCKETCAST_SECRET_KEY_FILE: oldKey }) });
  const dataDir = server.dataDir;
  try {
    assert.ok(!existsSync(path.join(dataDir, 'secret.key')), 'no key written into the data dir');
    assert.ok(!server.logs.some((l) => KEY_WARNING.test(String(l.msg))), 'no warning');
    await server.stop();
    // Secrets stored with the old key (as the API would store them).
    const before = openSqliteStore({ dataDir, secretKey: 'ab'.repeat(32) });
    const cred = await before.credentials.create({ friendlyName: 'main', credentials: 'AKIAROTATE0000000001:rotate/Secret+0001' });
    await before.publishCredentials.setSigningSecret('live', 'signing-secret-0001');
    await before.close();

    const env = { ...process.env, BUCKETCAST_DATA_DIR: dataDir, BUCKETCAST_SECRET_KEY_FILE: oldKey, BUCKETCAST_CONFIG: path.join(keys, 'none.json') };
    writeFileSync(env.BUCKETCAST_CONFIG, '{}');
    const usage = spawnSync(process.execPath, ['--import', 'tsx', 'src/rotation/rotate-cli.ts'], { cwd: ROOT, env, encoding: 'utf8' });
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /usage: npm run secrets:rotate -- --new-key-file/);
    const wrong = spawnSync(process.execPath, ['--import', 'tsx', 'src/rotation/rotate-cli.ts', '--new-key-file', newKey], { cwd: ROOT, env: { ...env, BUCKETCAST_SECRET_KEY_FILE: '', BUCKETCAST_SECRET_KEY: 'cd'.repeat(32) }, encoding: 'utf8' });
    assert.equal(wrong.status, 1, `a wrong current key changes nothing: ${wrong.stderr}`);
    assert.match(wrong.stderr, /nothing changed/);
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/rotation/rotate-cli.ts', '--new-key-file', newKey], { cwd: ROOT, env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /re-encrypted 1 credentials, 0 app_settings, 1 signing_secrets/);
    assert.equal(statSync(newKey).mode & 0o777, 0o600, 'the new key file is private');

    const after = openSqliteStore({ dataDir, secretKey: readFileSync(newKey, 'utf8') });
    try {
      assert.equal((await after.credentials.reveal(cred.id))?.secretAccessKey, 'rotate/Secret+0001');
      assert.equal((await after.publishCredentials.signingSecret('live'))?.secret, 'signing-secret-0001');
    } finally {
      await after.close();
    }
    const old = openSqliteStore({ dataDir, secretKey: 'ab'.repeat(32) });
    try {
      await assert.rejects(old.publishCredentials.signingSecret('live'), /another key/, 'the old key no longer opens them');
    } finally {
      await old.close();
    }
    const restarted = await startServer({ dataDir, env: adminEnv({ BUCKETCAST_SECRET_KEY_FILE: newKey }) });
    await restarted.stop();
  } finally {
    await server.stop();
    server.cleanup();
    rmSync(keys, { recursive: true, force: true });
  }
});

test('secrets:rotate re-encrypts the sources file (URLs and outputs) and the recording destinations; a file the old key cannot open changes nothing', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-rotate-files-'));
  const dataDir = path.join(dir, 'data');
  const oldKey = path.join(dir, 'old.key');
  const newKey = path.join(dir, 'new.key');
  const config = path.join(dir, 'none.json');
  try {
    mkdirSync(dataDir, { mode: 0o700 });
    writeFileSync(oldKey, `${'ab'.repeat(32)}\n`, { mode: 0o600 });
    writeFileSync(config, '{}');
    const oldBox = SecretBox.fromMaterial('ab'.repeat(32));
    const url = 'rtsp://admin:cam-Passw0rd@127.0.0.1:8554/stream';
    const output = { kind: 's3' as const, bucket: 'second', prefix: 'cams', credential: { source: 'inline' as const, accessKeyId: 'AKIAROTATEOUTPUT0001', secretAccessKey: 'rotate/Output+Secret0001' } };
    new SourceStore(dataDir, oldBox.derive('sources/url')).save([{ app: 'live', streamId: 'cam-1', url, enabled: true, onDemand: false, rtspTransport: 'tcp', output }]);
    const book = (key: Buffer) => new DestinationBook({ dataDir, key, log: createLogger('silent') });
    const presigned = 'https://s3.example.com/bucket/take.mp4?X-Amz-Signature=0123456789abcdef';
    const b = book(oldBox.derive('recording-destinations'));
    b.setPending('live', 'p1', { kind: 'presigned-put', url: presigned });
    b.bind({ recordingId: 'rec-p1', app: 'live', streamId: 'p1' }, undefined);
    b.setPending('live', 's1', output);
    b.bind({ recordingId: 'rec-s1', app: 'live', streamId: 's1' }, undefined);

    const env = { ...process.env, BUCKETCAST_DATA_DIR: dataDir, BUCKETCAST_SECRET_KEY_FILE: oldKey, BUCKETCAST_SECRET_KEY: '', BUCKETCAST_CONFIG: config };
    const rotate = (e: NodeJS.ProcessEnv) => spawnSync(process.execPath, ['--import', 'tsx', 'src/rotation/rotate-cli.ts', '--new-key-file', newKey], { cwd: ROOT, env: e, encoding: 'utf8' });

    // A source sealed with yet another key: the old key cannot open it, nothing changes (the destinations neither).
    const sourcesFile = path.join(dataDir, 'sources.json');
    const good = readFileSync(sourcesFile);
    new SourceStore(dataDir, SecretBox.fromMaterial('ef'.repeat(32)).derive('sources/url')).save([{ app: 'live', streamId: 'cam-9', url, enabled: true, onDemand: false, rtspTransport: 'tcp' }]);
    const foreign = readFileSync(sourcesFile);
    const destBefore = readFileSync(path.join(dataDir, 'destinations', 'rec-s1.json'));
    const refused = rotate(env);
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stderr, /nothing changed: .*source "cam-9" of application "live" cannot be opened with the current key/);
    assert.deepEqual(readFileSync(sourcesFile), foreign);
    assert.deepEqual(readFileSync(path.join(dataDir, 'destinations', 'rec-s1.json')), destBefore);
    assert.ok(!existsSync(`${sourcesFile}.tmp`) && !existsSync(path.join(dataDir, 'destinations', 'rec-s1.json.rotate.tmp')), 'no temporary file left');
    rmSync(newKey, { force: true });
    writeFileSync(sourcesFile, good, { mode: 0o600 });

    const r = rotate(env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /1 sources, 2 recording_destinations/);
    const newBox = SecretBox.fromMaterial(readFileSync(newKey, 'utf8'));
    const [after] = new SourceStore(dataDir, newBox.derive('sources/url')).list();
    assert.equal(after.url, url);
    assert.deepEqual(after.output, output);
    const [stale] = new SourceStore(dataDir, oldBox.derive('sources/url')).list();
    assert.equal(stale.url, null, 'the old key no longer opens the file');
    assert.equal(statSync(sourcesFile).mode & 0o777, 0o600);
    const text = readFileSync(sourcesFile, 'utf8');
    for (const s of ['cam-Passw0rd', output.credential.accessKeyId, output.credential.secretAccessKey]) assert.ok(!text.includes(s), `${s} is not in clear`);
    const nb = book(newBox.derive('recording-destinations'));
    assert.deepEqual(nb.get('rec-p1')?.spec, { kind: 'presigned-put', url: presigned });
    assert.deepEqual(nb.get('rec-s1')?.spec, { ...output, endpoint: undefined, region: undefined, forcePathStyle: undefined });
    assert.ok(book(oldBox.derive('recording-destinations')).get('rec-s1')?.unreadable, 'the old key no longer opens them');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
