/**
 * Recording, upload and playback end to end: real RTMP pushes are recorded, uploaded by the real
 * pipeline (primary mode: the local copies are deleted), and then play in
 * headless Chromium from the one stable URL, through each forwarding mode:
 * redirect (to the bucket's public URL), presigned and proxy. Keys use date
 * folders, so only the catalog can map the simple URL to the object.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { PutBucketCorsCommand } from '@aws-sdk/client-s3';
import { startServer, type TestServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push } from '../helpers/media.js';
import { credentialEnv, s3SettingsFor, startS3Target, type S3TestTarget } from '../helpers/s3.js';
import { launchChromium, playUntilFiveSeconds, type TestBrowser } from '../helpers/player-browser.js';

const BUCKET = 'vod';
const MODES = ['redir', 'signed', 'proxied'] as const;
let s3: S3TestTarget;
let server: TestServer;
let browser: TestBrowser;
const names = new Map<string, string>();

before(async () => {
  s3 = await startS3Target();
  await s3.createBucket(BUCKET);
  const keyTemplates = { streams: '{app}/{yyyy}/{mm}/{dd}/{name}.{ext}', previews: '{app}/{yyyy}/{mm}/{dd}/previews/{name}.{ext}' };
  const app = (name: string, forwarding: Record<string, unknown>) => ({
    name,
    previews: { periodSeconds: 2 },
    s3: s3SettingsFor(s3, BUCKET, { keyTemplates }),
    httpForwardingExtension: 'mp4,m3u8,jpg',
    ...forwarding,
  });
  [server, browser] = await Promise.all([
    startServer({
      events: true,
      env: credentialEnv(s3),
      config: {
        applications: [
          app('redir', { httpForwardingMode: 'redirect', httpForwardingBaseURL: `${s3.endpoint}/${BUCKET}` }),
          app('signed', { httpForwardingMode: 'presigned' }),
          app('proxied', { httpForwardingMode: 'proxy' }),
        ],
      },
    }),
    launchChromium(),
  ]);
  // The bucket CORS rule the README documents: after a redirect, hls.js reads the bucket from the player's origin.
  await s3.client().send(
    new PutBucketCorsCommand({
      Bucket: BUCKET,
      CORSConfiguration: { CORSRules: [{ AllowedOrigins: [server.httpUrl], AllowedMethods: ['GET', 'HEAD'], AllowedHeaders: ['*'], ExposeHeaders: [] }] },
    }),
  );
  const src = await fixture({ seconds: 8 });
  const pushes = MODES.map((m) => push(server.rtmpUrl(m, 'cam'), src));
  for (const p of pushes) assert.equal((await p.done).code, 0);
  for (const m of MODES) {
    await server.events.waitFor('upload.completed', (e) => e.kind === 'metadata' && e.app === m, 90_000, `recording uploaded (${m})`);
    names.set(m, String((await server.events.waitFor('recording.completed', (e) => e.app === m)).name));
  }
});

after(async () => {
  await browser?.close();
  await server?.stop();
  server?.cleanup();
  await s3?.cleanup();
});

async function playsFiveSeconds(app: string, file: string, engine: string): Promise<void> {
  const s = await playUntilFiveSeconds(browser, `${server.httpUrl}/play.html?app=${app}&name=${file}`);
  assert.ok(s.currentTime > 5, `${app} ${file}: ${JSON.stringify(s)}`);
  assert.equal(s.errors, 0, `${app} ${file}: no error event`);
  assert.equal(s.engine, engine);
  assert.match(s.poster, /previews\/.+\.jpg$/, `${app} ${file}: the poster was found`);
  assert.deepEqual(s.pageErrors, []);
}

for (const mode of MODES) {
  test(`${mode}: a recording uploaded by the pipeline, deleted locally, plays as MP4 and HLS`, async () => {
    const name = names.get(mode)!;
    assert.ok(!existsSync(path.join(server.dataDir, mode, 'streams', `${name}.mp4`)), 'local copy deleted (primary mode)');
    const keys = (await s3.listObjects(BUCKET, `${mode}/`)).map((o) => o.key);
    assert.ok(keys.some((k) => /^[a-z]+\/\d{4}\/\d{2}\/\d{2}\/cam_.+\.mp4$/.test(k)), `date-folder key in the bucket: ${keys.join(', ')}`);
    const res = await fetch(`${server.httpUrl}/${mode}/streams/${name}.mp4`, { method: 'HEAD', redirect: 'manual' });
    assert.equal(res.status, mode === 'proxied' ? 200 : 302);
    if (mode === 'redir') assert.ok(res.headers.get('location')!.startsWith(`${s3.endpoint}/${BUCKET}/redir/`), 'redirect to the real key under the base URL');
    await Promise.all([playsFiveSeconds(mode, `${name}.mp4`, 'video'), playsFiveSeconds(mode, `${name}.m3u8`, 'hls.js')]);
  });
}
