/**
 * Against a Ceph radosgw with its default settings (which refuse the
 * SDK's aws-chunked checksum trailer, and SSE over plain HTTP):
 * - a real RTMP push of a 12+ MB recording by a second user whose bucket
 *   policy grants only s3:PutObject on streams/* and previews/* (every other
 *   action denied, so HEAD is too): every artifact lands in the bucket, the
 *   MP4 in several 5 MiB parts with the default checksum setting, uploads are
 *   confirmed from their own answers, nothing is listed, the local copies are
 *   deleted; `s3.acl: bucket-owner-full-control` lets the bucket owner read
 *   what the writer wrote (on Ceph 16 objects belong to their writer);
 * - SSE over plain HTTP: a permanent failure that says what to change, for
 *   uploads and for validation.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, mkdtempSync, rmSync, writeFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startRadosgwTarget, type RadosgwTarget } from '../helpers/radosgw-target.js';
import { policyStatements, GRANTS } from '../helpers/s3-policy.js';
import { credentialEnv, s3SettingsFor } from '../helpers/s3.js';
import { startServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push, ffprobe, decodesCleanly } from '../helpers/media.js';
import { appOf, plantRecording, removeDir, startStorage } from '../helpers/storage.js';
import type { Sidecar } from '../../src/storage/uploads/sidecar.js';

const BUCKET = 'recordings';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let rgw: RadosgwTarget;

before(async () => {
  rgw = await startRadosgwTarget({ kms: false });
  await rgw.createBucket(BUCKET);
});
after(async () => {
  await rgw?.cleanup();
});

test('a real RTMP push by a PutObject-only user: every artifact uploaded, confirmed from the upload answers, local copies deleted', async () => {
  const writer = await rgw.rgw.createUser('writer');
  // Exactly Twilio's grant, and no read statement for the owner: the ACL below must do that job.
  await rgw.setPolicy(BUCKET, policyStatements(BUCKET, 'arn:aws:iam:::user/writer', GRANTS.twilio), { ownerReads: false });
  const src = await fixture({ seconds: 8, videoKbps: 14000 });
  const server = await startServer({
    events: true,
    env: credentialEnv(rgw, writer),
    config: {
      storage: { retryMaxDelaySeconds: 5 },
      applications: [{ name: 'live', previews: { periodSeconds: 2 }, s3: s3SettingsFor(rgw, BUCKET, { partSizeMiB: 5, acl: 'bucket-owner-full-control' }) }],
    },
  });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bc-rgw-'));
  try {
    assert.equal((await push(server.rtmpUrl('live', 'cam'), src).done).code, 0);
    const name = String((await server.events.waitFor('recording.completed', () => true, 30_000, 'recording completed')).name);
    const done = await server.events.waitFor('upload.completed', (e) => e.kind === 'metadata', 120_000, 'recording uploaded');
    const sidecarKey = `streams/${name}.json`;
    assert.equal(done.key, sidecarKey, 'the sidecar goes under streams/, which the policy allows');

    // Ground truth, read by the bucket owner.
    const sidecar = JSON.parse((await rgw.getObject(BUCKET, sidecarKey)).toString('utf8')) as Sidecar;
    const kinds = sidecar.objects.map((o) => o.kind);
    assert.equal(kinds.filter((k) => k === 'mp4').length, 1);
    assert.equal(kinds.filter((k) => k === 'hls-playlist').length, 1);
    assert.ok(kinds.filter((k) => k === 'hls-segment').length >= 3, 'HLS segments');
    assert.ok(kinds.filter((k) => k === 'preview').length >= 2, 'previews');
    assert.equal(kinds.filter((k) => k === 'poster').length, 1);
    const listed = (await rgw.listObjects(BUCKET)).map((o) => o.key).sort();
    assert.deepEqual(listed, [...sidecar.objects.map((o) => o.key), sidecarKey].sort(), 'every artifact, nothing else');
    for (const o of sidecar.objects) {
      const body = await rgw.getObject(BUCKET, o.key);
      assert.equal(body.length, o.size, o.name);
      assert.equal(sha256(body), o.sha256, `${o.name} is byte-identical`);
      assert.equal(rgw.writes(BUCKET).get(o.key), 1, `${o.key} written once`);
      if (o.kind === 'mp4') writeFileSync(path.join(tmp, o.name), body);
    }
    const mp4 = sidecar.objects.find((o) => o.kind === 'mp4')!;
    assert.ok(mp4.size >= 12_000_000, `the recording is ${mp4.size} bytes`);
    const probed = await ffprobe(path.join(tmp, mp4.name));
    assert.ok(Math.abs(probed.duration - 8) <= 0.5, `the uploaded MP4 lasts ${probed.duration} s`);
    assert.ok(await decodesCleanly(path.join(tmp, mp4.name)));
    assert.ok(statSync(path.join(tmp, mp4.name)).size === mp4.size);

    // How it went: parts, confirmation, requests.
    const lines = server.logs.filter((l) => l.msg === 'upload completed');
    assert.equal(lines.length, sidecar.objects.length + 1);
    assert.ok(lines.every((l) => l.verifiedBy === 'upload-response'), 'HEAD is denied: every upload confirmed from its answer');
    const mp4Line = lines.find((l) => l.kind === 'mp4')!;
    assert.ok(Number(mp4Line.parts) >= 3, `${mp4Line.parts} parts of 5 MiB`);
    assert.equal(mp4Line.confirmedBy, 'part-etags', "radosgw's CompleteMultipartUpload answers an empty ETag: the part ETags confirm it");
    const mine = rgw.requests.filter((r) => r.accessKeyId === writer.accessKeyId);
    assert.ok(!mine.some((r) => r.method === 'GET' || r.method === 'DELETE'), 'nothing listed, read or deleted');
    assert.ok(mine.filter((r) => r.method === 'HEAD').every((r) => r.status === 403));
    assert.ok(mine.every((r) => r.status === 200 || r.method === 'HEAD'), 'every write accepted the first time');
    assert.ok(mine.every((r) => r.checksumHeaders.length === 0), 'no checksum trailer (radosgw refuses it)');
    const creates = mine.filter((r) => (r.method === 'PUT' && r.partNumber === undefined) || (r.method === 'POST' && r.query.includes('uploads')));
    assert.ok(creates.every((r) => r.amz['x-amz-acl'] === 'bucket-owner-full-control'));
    assert.deepEqual(await rgw.listMultipartUploads(BUCKET), []);

    // Local disk keeps nothing of the recording.
    for (const dir of ['streams', 'previews']) {
      const d = path.join(server.dataDir, 'live', dir);
      assert.deepEqual(existsSync(d) ? readdirSync(d).filter((n) => n.startsWith(`${name}.`) || n.startsWith(`${name}_`)) : [], [], `${dir}: local copies deleted`);
    }
  } finally {
    await server.stop();
    server.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('SSE over plain HTTP (radosgw refuses it by default): a permanent failure that says what to change; validation says the same', async () => {
  await rgw.createBucket('sse');
  const h = await startStorage([appOf({ name: 'setup', s3RecordingEnabled: false })]);
  try {
    const credentialId = (await h.store.credentials.create({ credentials: `${rgw.credentials.accessKeyId}:${rgw.credentials.secretAccessKey}` })).id;
    const app = (name: string, sse: Record<string, unknown>) => appOf({ name, s3: { ...s3SettingsFor(rgw, 'sse', { prefix: name, partSizeMiB: 5 }), credentials: { source: 'stored', credentialId }, sse } });
    for (const [name, sse] of [['aes', { mode: 'AES256' }], ['kms', { mode: 'aws:kms', kmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/k' }]] as const) {
      h.apps.put(app(name, sse));
      const rec = plantRecording(h.dataDir, name, { mp4Bytes: 6_000_000 });
      await h.events.emit('recording.completed', rec.completed);
      const failed = await h.waitFor('upload.failed', (e) => e.recordingId === rec.completed.recordingId);
      assert.equal(failed.errorClass, 'permanent', name);
      assert.equal(failed.code, 'sse_rejected', name);
      assert.match(failed.message, new RegExp(`^the S3 service refused server-side encryption "${sse.mode}" \\(InvalidRequest: no message\\): S3-compatible services often accept it only over HTTPS \\(Ceph radosgw: rgw_crypt_require_ssl\\): use an https:// endpoint, or set s3\\.sse\\.mode to "none"`));
      for (const f of rec.completed.files) assert.ok(existsSync(f.path), `${name}: ${f.name} kept`);
      const report = (await h.service.validate(name))!;
      assert.equal(report.ok, false);
      const write = report.steps.find((s) => s.step === 'write')!;
      assert.equal(write.code, 'sse_rejected');
      assert.match(write.message, /use an https:\/\/ endpoint/);
    }
    assert.deepEqual(await rgw.listObjects('sse'), []);
  } finally {
    await h.stop();
    removeDir(h.dataDir);
  }
});
