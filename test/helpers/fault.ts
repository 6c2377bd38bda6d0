/**
 * What every fault-injection case ends with: every recording
 * complete in the bucket exactly once and byte-identical to what was
 * recorded, nothing left behind locally (primary mode), and the server still
 * serving (`/healthz`, a fresh push is recorded and uploaded).
 *
 * "What was recorded" is the sidecar's SHA-256 of each file (hashed from the
 * local file before its upload) and, when a test hashed files on disk itself
 * (e.g. while S3 was failing), those hashes too.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { S3TestTarget } from './s3.js';
import type { TestServer } from './server.js';
import { push } from './media.js';

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The bucket key of a local file name under the default key templates. */
export function keyOf(name: string): string {
  return /\.(jpg|png|webp)$/.test(name) ? `previews/${name}` : `streams/${name}`;
}

export interface SidecarDoc {
  name: string;
  durationSeconds: number;
  objects: Array<{ kind: string; name: string; key: string; size: number; sha256: string }>;
}

/** Waits until each recording's sidecar (its last file) is uploaded (`upload.completed`; needs `startServer({ events: true })`). */
export async function waitUploaded(server: TestServer, names: string[], timeoutMs = 120_000): Promise<void> {
  for (const name of names) {
    await server.events.waitFor('upload.completed', (e) => e.kind === 'metadata' && e.key === `streams/${name}.json`, timeoutMs, `recording ${name} uploaded`);
  }
}

/**
 * Waits until every recording in `names` has its sidecar in the bucket and
 * the data dir holds nothing of any recording: works across restarts, where
 * the upload may have been logged by an earlier process.
 */
export async function waitSettled(s3: S3TestTarget, bucket: string, wanted: string[] | (() => string[]), dataDir: string, streamIds: string[], timeoutMs = 120_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let missing: string[] = [];
  let local = '';
  for (;;) {
    // The list may change while waiting (a recovered recording found to hold no media is dropped).
    const names = typeof wanted === 'function' ? wanted() : wanted;
    const keys = new Set((await s3.listObjects(bucket)).map((o) => o.key));
    missing = names.filter((n) => !keys.has(`streams/${n}.json`));
    try {
      assertNothingLeftLocally(dataDir, 'live', streamIds);
      local = '';
    } catch (err) {
      local = (err as Error).message;
    }
    if (missing.length === 0 && !local) return;
    if (Date.now() > end) throw new Error(`not settled after ${timeoutMs} ms: sidecars missing for ${missing.join(', ') || 'none'}; ${local || 'local dir clean'}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Every recording in `names` is in the bucket: its sidecar, and every object
 * the sidecar lists, each byte-identical (SHA-256) and written once; no other
 * object of the recording; no incomplete multipart upload. `hashed` adds
 * hashes the test took of local files itself (file name → SHA-256).
 */
export async function assertInBucketOnce(s3: S3TestTarget, bucket: string, names: string[], hashed: Map<string, string> = new Map()): Promise<Map<string, SidecarDoc>> {
  const listed = await s3.listObjects(bucket);
  const keys = new Set(listed.map((o) => o.key));
  const writes = s3.writes(bucket);
  const docs = new Map<string, SidecarDoc>();
  for (const name of names) {
    const sidecarKey = `streams/${name}.json`;
    assert.ok(keys.has(sidecarKey), `the sidecar of ${name} is in the bucket`);
    const doc = JSON.parse((await s3.getObject(bucket, sidecarKey)).toString('utf8')) as SidecarDoc;
    docs.set(name, doc);
    assert.ok(doc.objects.some((o) => o.kind === 'mp4'), `${name}: the MP4 is listed`);
    const mine = listed.filter((o) => o.key.startsWith(`streams/${name}.`) || o.key.startsWith(`streams/${name}_`) || o.key.startsWith(`previews/${name}.`) || o.key.startsWith(`previews/${name}_`));
    assert.deepEqual(mine.map((o) => o.key).sort(), [...doc.objects.map((o) => o.key), sidecarKey].sort(), `${name}: exactly the objects its sidecar lists`);
    for (const o of doc.objects) {
      const body = await s3.getObject(bucket, o.key);
      assert.equal(body.length, o.size, `${o.key}: size`);
      assert.equal(sha256(body), o.sha256, `${o.key}: byte-identical to the file that was recorded`);
      const own = hashed.get(o.name);
      if (own) assert.equal(o.sha256, own, `${o.key}: identical to the file the test hashed on disk`);
    }
    for (const k of [...doc.objects.map((o) => o.key), sidecarKey]) assert.equal(writes.get(k), 1, `${k} written exactly once (${writes.get(k) ?? 0})`);
  }
  for (const [n] of hashed) {
    const owner = names.find((name) => n.startsWith(`${name}.`) || n.startsWith(`${name}_`));
    if (owner) assert.ok(docs.get(owner)!.objects.some((o) => o.name === n), `${n}, hashed on disk, was uploaded`);
  }
  assert.deepEqual(await s3.listMultipartUploads(bucket), [], 'no incomplete multipart upload');
  assert.deepEqual(s3.pendingUploadDirs(bucket), [], 'no parts left on the S3 server');
  return docs;
}

/**
 * Nothing of a recording is left in the data dir (primary mode): no media,
 * playlists, previews or posters, no work dirs, no temp files. The stream's
 * latest preview (`<streamId>.jpg`) is a live image, not part of a recording.
 */
export function assertNothingLeftLocally(dataDir: string, app = 'live', streamIds: string[] = []): void {
  const live = new Set(streamIds.flatMap((id) => [`${id}.jpg`, `${id}.png`, `${id}.webp`]));
  for (const folder of ['streams', 'previews']) {
    const dir = path.join(dataDir, app, folder);
    const left = existsSync(dir) ? readdirSync(dir).filter((n) => !live.has(n)) : [];
    assert.deepEqual(left, [], `nothing left in ${app}/${folder}`);
  }
  const work = path.join(dataDir, '.work');
  assert.deepEqual(existsSync(work) ? readdirSync(work) : [], [], 'no recording work dir left');
}

/** `/healthz` answers ok. */
export async function assertHealthy(server: TestServer): Promise<Record<string, unknown>> {
  const r = await fetch(`${server.httpUrl}/healthz`);
  assert.equal(r.status, 200, '/healthz answers');
  const body = (await r.json()) as Record<string, unknown>;
  assert.equal(body.status, 'ok');
  return body;
}

/** Pushes a short stream and returns its recording's name once it is uploaded. */
export async function freshPushUploads(server: TestServer, file: string, streamId: string, timeoutMs = 90_000): Promise<string> {
  const p = push(server.rtmpUrl('live', streamId), file);
  const started = await server.events.waitFor('recording.started', (e) => e.streamId === streamId, 30_000, `recording of ${streamId} started`);
  const r = await p.done;
  assert.equal(r.code, 0, `the fresh push ${streamId} ended normally: ${r.stderr}`);
  const name = String(started.name);
  await waitUploaded(server, [name], timeoutMs);
  return name;
}
