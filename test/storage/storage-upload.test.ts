/**
 * A real RTMP push ends with the MP4, the HLS playlist and segments,
 * the previews and poster, and the metadata sidecar in the bucket under the
 * expected keys, byte-identical to what was recorded, each written once;
 * nothing of the recording is left on local disk in primary mode, all of it
 * is kept in dual mode. And the embedded default: with no bucket
 * configured recordings become plain files under `<dataDir>/bucket/`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startServer, type TestServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push, ffprobe, topLevelBoxes, decodesCleanly } from '../helpers/media.js';
import { credentialEnv, s3SettingsFor, startS3Target, type S3TestTarget } from '../helpers/s3.js';
import type { Sidecar } from '../../src/storage/uploads/sidecar.js';

const BUCKET = 'recordings';
let s3: S3TestTarget;
before(async () => {
  s3 = await startS3Target();
  await s3.createBucket(BUCKET);
});
after(async () => {
  await s3.cleanup();
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function recordingFiles(dir: string, name: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith(`${name}.`) || n.startsWith(`${name}_`)) : [];
}

test('a push lands in the bucket byte for byte: primary mode deletes the local copy, dual mode keeps it', async () => {
  const src = await fixture({ seconds: 20 });
  const server = await startServer({
    events: true,
    env: credentialEnv(s3),
    config: {
      storage: { retryMaxDelaySeconds: 5 },
      applications: [
        { name: 'live', previews: { periodSeconds: 2 }, s3: s3SettingsFor(s3, BUCKET, { prefix: 'primary', partSizeMiB: 5, cacheControl: 'max-age=60' }) },
        { name: 'dual', previews: { periodSeconds: 2 }, s3: s3SettingsFor(s3, BUCKET, { prefix: 'dual', storageMode: 'dual' }) },
      ],
    },
  });
  try {
    const pushes = [push(server.rtmpUrl('live', 'cam'), src), push(server.rtmpUrl('dual', 'cam'), src)];
    for (const p of pushes) assert.equal((await p.done).code, 0);
    const done = await Promise.all(
      ['live', 'dual'].map((app) => server.events.waitFor('upload.completed', (e) => e.kind === 'metadata' && e.app === app, 90_000, `recording uploaded (${app})`)),
    );
    const names = await Promise.all(['live', 'dual'].map(async (app) => String((await server.events.waitFor('recording.completed', (e) => e.app === app)).name)));
    const pushed = (await ffprobe(src)).duration;

    for (const [i, app] of ['live', 'dual'].entries()) {
      const name = names[i];
      const prefix = app === 'live' ? 'primary' : 'dual';
      const sidecarKey = `${prefix}/streams/${name}.json`;
      assert.equal(done[i].key, sidecarKey, 'the sidecar goes beside the recording');
      const sidecar = JSON.parse((await s3.getObject(BUCKET, sidecarKey)).toString('utf8')) as Sidecar;
      assert.equal(sidecar.app, app);
      assert.equal(sidecar.streamId, 'cam');
      assert.equal(sidecar.resolution, '1280x720');
      assert.equal(sidecar.video?.codec, 'h264');
      assert.equal(sidecar.audio?.codec, 'aac');
      assert.ok(Math.abs(sidecar.durationSeconds - pushed) <= 0.5, `duration ${sidecar.durationSeconds}`);
      assert.ok(Date.parse(sidecar.endedAt) > Date.parse(sidecar.startedAt));

      // Exactly the recording's files, under the template keys, each written once.
      const kinds = sidecar.objects.map((o) => o.kind);
      assert.equal(kinds.filter((k) => k === 'mp4').length, 1);
      assert.equal(kinds.filter((k) => k === 'hls-playlist').length, 1);
      assert.ok(kinds.filter((k) => k === 'hls-segment').length >= 8, 'every HLS segment');
      assert.ok(kinds.filter((k) => k === 'preview').length >= 3, 'previews');
      assert.equal(kinds.filter((k) => k === 'poster').length, 1);
      for (const o of sidecar.objects) {
        const folder = o.kind === 'preview' || o.kind === 'poster' ? 'previews' : 'streams';
        assert.equal(o.key, `${prefix}/${folder}/${o.name}`);
      }
      const listed = (await s3.listObjects(BUCKET, `${prefix}/`)).map((o) => o.key).sort();
      assert.deepEqual(listed, [...sidecar.objects.map((o) => o.key), sidecarKey].sort(), 'nothing more, nothing less in the bucket');
      const writes = s3.writes(BUCKET);
      for (const k of listed) assert.equal(writes.get(k), 1, `${k} written once`);
      assert.equal(sidecar.checksum?.value, sidecar.objects.find((o) => o.kind === 'mp4')!.sha256);

      // Byte for byte: against the local copy in dual mode, against the checksums taken before upload in primary mode.
      const tmp = mkdtempSync(path.join(os.tmpdir(), 'bc-dl-'));
      try {
        for (const o of sidecar.objects) {
          const body = await s3.getObject(BUCKET, o.key);
          assert.equal(body.length, o.size, o.name);
          assert.equal(sha256(body), o.sha256, `${o.name} checksum`);
          const head = await s3.headObject(BUCKET, o.key);
          // One PUT carries its SHA-256; a multipart object (over one 8 MiB part) gets it in the catalog and the sidecar only.
          assert.equal(head.metadata.sha256, o.size > (app === 'dual' ? 8 : 5) * 1024 * 1024 ? undefined : o.sha256, `x-amz-meta-sha256 of ${o.name}`);
          assert.equal(head.contentType, o.contentType);
          const local = path.join(server.dataDir, app, o.kind === 'preview' || o.kind === 'poster' ? 'previews' : 'streams', o.name);
          if (app === 'dual') assert.ok(readFileSync(local).equals(body), `${o.name} byte-identical to the local copy`);
          else assert.ok(!existsSync(local), `${o.name} deleted locally`);
          if (o.kind === 'mp4') writeFileSync(path.join(tmp, o.name), body);
        }
        const mp4 = path.join(tmp, `${name}.mp4`);
        const probed = await ffprobe(mp4);
        assert.ok(Math.abs(probed.duration - pushed) <= 0.5, `uploaded mp4 lasts ${probed.duration}s`);
        assert.deepEqual(probed.streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
        const boxes = topLevelBoxes(mp4);
        assert.ok(boxes.indexOf('moov') < boxes.indexOf('mdat'), 'uploaded mp4 is faststart');
        assert.ok(await decodesCleanly(mp4), 'uploaded mp4 decodes');
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
      // The playlist in the bucket names segments that are beside it.
      const playlist = (await s3.getObject(BUCKET, `${prefix}/streams/${name}.m3u8`)).toString('utf8');
      for (const seg of playlist.split('\n').filter((l) => l.endsWith('.ts'))) assert.ok(listed.includes(`${prefix}/streams/${seg}`), `${seg} in the bucket`);
    }

    // Local disk: primary keeps nothing of the recording (the stream's latest preview is not part of it), dual keeps all.
    const live = names[0];
    assert.deepEqual([...recordingFiles(path.join(server.dataDir, 'live', 'streams'), live), ...recordingFiles(path.join(server.dataDir, 'live', 'previews'), live)], []);
    assert.ok(recordingFiles(path.join(server.dataDir, 'dual', 'streams'), names[1]).length >= 10);
    const headLines = server.logs.filter((l) => l.msg === 'upload completed');
    assert.ok(headLines.length > 20 && headLines.every((l) => l.verifiedBy === 'head'), 'every upload verified by HEAD');
    assert.ok(headLines.some((l) => l.app === 'live' && l.kind === 'mp4' && Number(l.parts) >= 2), 'the MP4 went in several parts');

    // The catalog says where everything is.
    const db = new Database(path.join(server.dataDir, 'bucketcast.db'), { readonly: true });
    try {
      const rows = db.prepare('SELECT app, state, object_key, local_deleted_at, sha256 FROM recording_files').all() as Array<{ app: string; state: string; object_key: string; local_deleted_at: string | null; sha256: string }>;
      assert.ok(rows.length > 20);
      assert.ok(rows.every((r) => r.state === 'uploaded' && r.object_key && r.sha256));
      assert.ok(rows.filter((r) => r.app === 'live').every((r) => r.local_deleted_at || r.object_key.endsWith('.json')));
      assert.ok(rows.filter((r) => r.app === 'dual').every((r) => !r.local_deleted_at));
    } finally {
      db.close();
    }
  } finally {
    await server.stop();
    server.cleanup();
  }
});

/** Every file under `dir`, relative, except those under `skip`. */
function filesUnder(dir: string, skip: string[]): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as Array<{ name: string; parentPath?: string; path?: string; isFile(): boolean }>)
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath ?? e.path ?? dir, e.name)))
    .filter((f) => !skip.some((s) => f === s || f.startsWith(`${s}/`)));
}

test('with no bucket configured, recordings become plain files under <dataDir>/bucket/ (the local store); nothing else of them stays', async () => {
  const src = await fixture({ seconds: 4 });
  const server = await startServer({ events: true, config: { applications: [{ name: 'live' }] }, env: { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' } });
  try {
    assert.equal((await push(server.rtmpUrl('live', 'newcomer'), src).done).code, 0);
    const done = await server.events.waitFor('upload.completed', (e) => e.kind === 'metadata', 60_000, 'recording uploaded');
    const name = String((await server.events.waitFor('recording.completed', () => true)).name);
    assert.equal(done.key, `live/streams/${name}.json`);
    assert.equal(done.bucket, 'local');
    const root = path.join(server.dataDir, 'bucket');
    const mp4 = path.join(root, 'live', 'streams', `${name}.mp4`);
    for (const f of [mp4, path.join(root, 'live', 'streams', `${name}.m3u8`), path.join(root, 'live', 'previews', `${name}.jpg`), path.join(root, 'live', 'streams', `${name}.json`)]) assert.ok(existsSync(f), `${f} is a plain file`);
    const probe = await ffprobe(mp4);
    assert.ok(probe.streams.some((st) => st.codec_type === 'video'), 'ffprobe reads the MP4 under bucket/');
    assert.ok(await decodesCleanly(mp4), 'it decodes without an error');
    const sidecar = JSON.parse(readFileSync(path.join(root, 'live', 'streams', `${name}.json`), 'utf8')) as Sidecar;
    const sum = createHash('sha256').update(readFileSync(mp4)).digest('hex');
    assert.equal(sidecar.objects.find((o) => o.kind === 'mp4')!.sha256, sum, 'the SHA-256 taken while storing it');
    // Primary mode: of the recording, only the objects under bucket/ (and catalog rows) remain; no temporary file either.
    assert.deepEqual(filesUnder(server.dataDir, ['bucket']).filter((f) => f.includes(name)), [], 'no work copy left');
    assert.deepEqual(filesUnder(root, []).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left');
    const db = new Database(path.join(server.dataDir, 'bucketcast.db'), { readonly: true });
    try {
      const rows = db.prepare(`SELECT bucket, object_key AS key, state FROM recording_files WHERE name LIKE ?`).all(`${name}%`) as Array<{ bucket: string; key: string; state: string }>;
      assert.ok(rows.length >= 4 && rows.every((r) => r.state === 'uploaded' && r.bucket === 'local' && r.key.startsWith('live/')), JSON.stringify(rows));
    } finally {
      db.close();
    }
    assert.ok(!server.logs.some((l) => /s3rver|embedded s3/i.test(String(l.msg))), 'no S3 server is started');
  } finally {
    await server.stop();
    server.cleanup();
  }
});
