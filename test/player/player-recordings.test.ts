/**
 * In headless Chromium, the player plays a recording that exists only
 * in the bucket (never on local disk), MP4 and HLS, through each forwarding
 * mode: redirect (public bucket), presigned and proxy (private bucket behind a
 * gate that checks signatures). Keys use date folders, so the catalog is what
 * maps the simple URL to the object. Missing recordings get a clear message.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { startBucket, startPrivateGate, sdkSigner, MemoryLocator, type TestBucket, type PrivateGate } from '../helpers/fwd-bucket.js';
import { startForwardingServer, makeRecording, type FwdServer, type TestRecording } from '../helpers/fwd-server.js';
import { DeleteBucketCorsCommand } from '@aws-sdk/client-s3';
import { checkBucketCors } from '../../src/forwarding/cors-check.js';
import { launchChromium, playerState, waitForPage, type TestBrowser } from '../helpers/player-browser.js';

let bucket: TestBucket;
let gate: PrivateGate;
let server: FwdServer;
let rec: TestRecording;
let browser: TestBrowser;
const KEY_DIR = 'live/2026/11/22/cam1_20261122T185003Z';
const MODES = ['redir', 'signed', 'proxied'] as const;

before(async () => {
  [bucket, rec, browser] = await Promise.all([startBucket(), makeRecording('cam1_20261122T185003Z', 8), launchChromium()]);
  gate = await startPrivateGate(bucket);
  const locator = new MemoryLocator();
  const files = [rec.mp4, rec.playlist, rec.poster, ...rec.segments];
  for (const f of files) await bucket.putFile(`${KEY_DIR}/${path.basename(f)}`, f);
  for (const app of MODES) {
    for (const f of files) locator.add(app, f === rec.poster ? 'previews' : 'streams', path.basename(f), { bucket: bucket.bucket, key: `${KEY_DIR}/${path.basename(f)}` });
  }
  server = await startForwardingServer({
    apps: [
      { name: 'redir', httpForwardingBaseURL: bucket.url, httpForwardingExtension: 'mp4,m3u8,webp' },
      { name: 'signed', httpForwardingMode: 'presigned', httpForwardingExtension: 'mp4,m3u8,webp' },
      { name: 'proxied', httpForwardingExtension: 'mp4,m3u8,webp' },
    ],
    locator,
    signer: sdkSigner(gate.endpoint, bucket.bucket),
  });
  // The rule the README documents: the player's origin may GET and HEAD (hls.js reads the bucket after a redirect).
  await bucket.allowOrigins([server.url]);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await gate?.stop();
  await bucket?.stop();
});

const UNTIL_FIVE_SECONDS_OR_ERROR = "document.getElementById('video').currentTime > 5 || ['error', 'not-found'].includes(document.body.dataset.state)";

async function playsFiveSeconds(app: string, file: string, engine: string): Promise<void> {
  const page = await browser.page();
  try {
    await page.goto(`${server.url}/play.html?app=${app}&name=${file}`);
    await waitForPage(page, UNTIL_FIVE_SECONDS_OR_ERROR, 60_000);
    const s = await playerState(page);
    assert.ok(s.currentTime > 5, `${app} ${file}: ${JSON.stringify(s)}`);
    assert.equal(s.errors, 0, `${app} ${file}: no error event`);
    assert.equal(s.state, 'playing', `${app} ${file}`);
    assert.equal(s.engine, engine, `${app} ${file}`);
    assert.ok(s.played >= 4.5, `${app} ${file}: played ${s.played}s`);
    assert.equal(s.poster, `${app}/previews/${rec.name}.webp`, `${app} ${file}: the webp poster was found`);
    assert.deepEqual(page.errors, [], `${app} ${file}: no page errors`);
  } finally {
    await page.close();
  }
}

for (const app of MODES) {
  test(`${app}: a recording only in the bucket plays as MP4 and as HLS`, async () => {
    assert.ok(!existsSync(path.join(server.layout.streamsDir(app), `${rec.name}.mp4`)), 'no local copy');
    await Promise.all([playsFiveSeconds(app, `${rec.name}.mp4`, 'video'), playsFiveSeconds(app, `${rec.name}.m3u8`, 'hls.js')]);
    if (app !== 'redir') assert.deepEqual(gate.refused, [], 'the private bucket saw only valid signatures');
  });
}

test('the name without an extension plays the MP4', async () => {
  const page = await browser.page();
  try {
    await page.goto(`${server.url}/play.html?app=proxied&name=${rec.name}`);
    await waitForPage(page, "document.body.dataset.state === 'playing'", 30_000);
    const s = await playerState(page);
    assert.equal(s.engine, 'video');
    assert.equal(s.source, `proxied/streams/${rec.name}.mp4`);
  } finally {
    await page.close();
  }
});

test('a recording that does not exist says so, in every mode', async () => {
  for (const app of MODES) {
    for (const name of ['nothing_20260101T000000Z.mp4', 'nothing_20260101T000000Z.m3u8', 'nothing_20260101T000000Z']) {
      const page = await browser.page();
      try {
        await page.goto(`${server.url}/play.html?app=${app}&name=${name}`);
        await waitForPage(page, "['not-found', 'error'].includes(document.body.dataset.state)", 30_000);
        const s = await playerState(page);
        assert.equal(s.state, 'not-found', `${app} ${name}: ${s.message}`);
        assert.match(s.message, /does not exist/);
      } finally {
        await page.close();
      }
    }
  }
});

test('bad parameters get a message, not a request', async () => {
  const page = await browser.page();
  try {
    for (const [q, re] of [
      ['', /Add \?app=/],
      ['?app=../etc&name=x.mp4', /Invalid application name/],
      ['?app=live&name=../x.mp4', /Invalid stream id or file name/],
    ] as const) {
      await page.goto(`${server.url}/play.html${q}`);
      const s = await playerState(page);
      assert.equal(s.state, 'error', q);
      assert.match(s.message, re, q);
    }
  } finally {
    await page.close();
  }
});

test('without the bucket CORS rule, HLS after a redirect fails with a message naming CORS, and the check says why', async () => {
  await bucket.client.send(new DeleteBucketCorsCommand({ Bucket: bucket.bucket }));
  try {
    const check = await checkBucketCors({ client: bucket.client, bucket: bucket.bucket, origins: [server.url] });
    assert.equal(check.status, 'warn');
    assert.deepEqual(check.suggestedRule?.AllowedOrigins, [server.url]);
    const page = await browser.page();
    try {
      // Earlier tests cached the bucket's answers with their CORS headers.
      await (await browser.context.newCDPSession(page)).send('Network.clearBrowserCache');
      await page.goto(`${server.url}/play.html?app=redir&name=${rec.name}.m3u8`);
      await waitForPage(page, UNTIL_FIVE_SECONDS_OR_ERROR, 60_000);
      const s = await playerState(page);
      assert.equal(s.state, 'error');
      assert.match(s.message, /CORS/);
    } finally {
      await page.close();
    }
  } finally {
    await bucket.allowOrigins([server.url]);
  }
});
