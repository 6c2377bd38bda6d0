/**
 * Stored credentials (`AKID:SECRET`, referenced by id from an app's
 * settings) are AES-256-GCM ciphertext at rest, under a key from
 * BUCKETCAST_SECRET_KEY or a 0600 key file made on first start; a changed key
 * or a tampered value gives a clear error; the secret never reaches a log,
 * even when uploads with it fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { openSqliteStore } from '../../src/db/sqlite/index.js';
import { SecretBox } from '../../src/db/secret-box.js';
import { startServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push } from '../helpers/media.js';
import { startS3Target } from '../helpers/s3.js';

const tempDir = () => mkdtempSync(path.join(os.tmpdir(), 'bucketcast-cred-'));

/** Every byte the store wrote (database, WAL, shared memory). */
function storeBytes(dataDir: string): Buffer {
  return Buffer.concat(readdirSync(dataDir).filter((f) => f.startsWith('bucketcast.db')).map((f) => readFileSync(path.join(dataDir, f))));
}

test('the secret is ciphertext at rest, under a 0600 key file made on first start', async () => {
  const dataDir = tempDir();
  try {
    const secret = `secret-${randomBytes(12).toString('hex')}`;
    const store = openSqliteStore({ dataDir });
    assert.equal(store.keySource, 'file');
    assert.equal(store.keyCreated, true);
    const c = await store.credentials.create({ credentials: `AKIAATREST0000001:${secret}`, friendlyName: 'at rest' });
    const row = store.db.prepare('SELECT * FROM credentials WHERE id = ?').get(c.id) as Record<string, string>;
    assert.ok(!JSON.stringify(row).includes(secret), 'not in the row');
    assert.ok(!JSON.stringify(row).includes('AKIAATREST0000001'), 'the access key id is encrypted too');
    assert.match(row.sealed, /^v1\.[0-9a-f]{16}\.[\w-]+\.[\w-]+\.[\w-]+$/);
    await store.close();
    assert.ok(!storeBytes(dataDir).includes(Buffer.from(secret)), 'not anywhere in the database files');
    const keyFile = path.join(dataDir, 'secret.key');
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    const again = openSqliteStore({ dataDir });
    assert.equal(again.keyCreated, false, 'the key file is reused');
    assert.equal((await again.credentials.reveal(c.id))?.secretAccessKey, secret);
    await again.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('BUCKETCAST_SECRET_KEY is used instead of a key file; another key fails clearly; tampering is detected', async () => {
  const dataDir = tempDir();
  try {
    const key = randomBytes(32).toString('hex');
    const store = openSqliteStore({ dataDir, secretKey: key });
    assert.equal(store.keySource, 'env');
    assert.ok(!existsSync(path.join(dataDir, 'secret.key')), 'no key file when the key comes from the environment');
    const a = await store.credentials.create({ credentials: 'AKIAFIRST00000001:first-secret' });
    const b = await store.credentials.create({ credentials: 'AKIASECOND0000001:second-secret' });
    // A value moved to another row does not decrypt (the row id is bound to it).
    const sealedA = (store.db.prepare('SELECT sealed FROM credentials WHERE id = ?').get(a.id) as { sealed: string }).sealed;
    store.db.prepare('UPDATE credentials SET sealed = ? WHERE id = ?').run(sealedA, b.id);
    await assert.rejects(store.credentials.reveal(b.id), /integrity check/);
    await store.close();

    const other = openSqliteStore({ dataDir, secretKey: randomBytes(32).toString('base64') });
    await assert.rejects(other.credentials.reveal(a.id), /BUCKETCAST_SECRET_KEY \(or <dataDir>\/secret\.key\) changed/);
    await other.close();
    const same = openSqliteStore({ dataDir, secretKey: key });
    assert.equal((await same.credentials.reveal(a.id))?.secretAccessKey, 'first-secret');
    await same.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('key material: hex, base64 or a long passphrase; a short one is refused', () => {
  assert.equal(SecretBox.fromMaterial('a'.repeat(64)).keyId, SecretBox.fromMaterial(Buffer.alloc(32, 0xaa).toString('base64')).keyId);
  const box = SecretBox.fromMaterial('correct horse battery staple');
  assert.equal(box.open(box.seal('x:y', 'id1'), 'id1'), 'x:y');
  assert.throws(() => SecretBox.fromMaterial('short'), /at least 16 characters/);
});

test('a server using stored credentials never logs the secrets, whether uploads work or fail', async () => {
  const s3 = await startS3Target();
  await s3.createBucket('vault');
  const dataDir = tempDir();
  const good = `good-${randomBytes(10).toString('hex')}`;
  const bad = `bad-${randomBytes(10).toString('hex')}`;
  const store = openSqliteStore({ dataDir });
  const goodId = (await store.credentials.create({ credentials: `S3RVER:${good}`, friendlyName: 'good' })).id;
  const badId = (await store.credentials.create({ credentials: `AKIAUNKNOWNKEY001:${bad}`, friendlyName: 'bad' })).id;
  await store.close();
  const s3Of = (credentialId: string) => ({ bucket: 'vault', endpoint: s3.endpoint, forcePathStyle: true, credentials: { source: 'stored', credentialId } });
  const server = await startServer({
    events: true,
    dataDir,
    env: { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' },
    config: {
      applications: [
        { name: 'live', s3: { ...s3Of(goodId), prefix: 'good' } },
        { name: 'broken', s3: { ...s3Of(badId), prefix: 'bad' } },
      ],
    },
  });
  try {
    const src = await fixture({ seconds: 4 });
    await Promise.all([push(server.rtmpUrl('live', 'a'), src).done, push(server.rtmpUrl('broken', 'b'), src).done]);
    await server.events.waitFor('upload.completed', (e) => e.kind === 'metadata' && e.app === 'live', 60_000, 'upload with the stored credential');
    const failed = await server.events.waitFor('upload.failed', (e) => e.errorClass === 'permanent' && e.app === 'broken', 60_000, 'failure with the wrong credential');
    assert.equal(failed.code, 'invalid_credentials');
    assert.ok((await s3.listObjects('vault', 'good/')).length > 3);
    const everything = [...server.logs.map((l) => JSON.stringify(l)), ...server.otherOutput].join('\n');
    assert.ok(!everything.includes(good) && !everything.includes(bad), 'no secret in the logs');
  } finally {
    await server.stop();
    assert.ok(!storeBytes(dataDir).includes(Buffer.from(good)), 'no secret in the database files');
    server.cleanup();
    await s3.cleanup();
  }
});
