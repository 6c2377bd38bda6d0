/**
 * RTMPS. An ffmpeg push over `rtmps://` (self-signed test
 * certificate) is recorded like RTMP under the same publish rules; a plain-RTMP
 * client and a client speaking broken TLS on the RTMPS port are dropped without
 * disturbing the publisher; SIGHUP makes the listener serve a renewed
 * certificate without a restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { startServer, until } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { decodesCleanly, ffprobe, push } from '../helpers/media.js';

const run = promisify(execFile);

async function selfSigned(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert]);
  return { cert, key };
}

/** Connects, sends `bytes`, resolves with how long until the server closed the connection. */
function dropped(port: number, bytes: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const since = Date.now();
    const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
    s.on('error', () => undefined);
    s.resume();
    s.on('close', () => resolve(Date.now() - since));
  });
}

function servedCertificate(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => {
      resolve(s.getPeerX509Certificate()!.fingerprint256);
      s.destroy();
    });
    s.on('error', reject);
  });
}

test('an ffmpeg push over rtmps:// is recorded; plain-RTMP and broken-TLS clients are dropped; SIGHUP reloads the certificate', { timeout: 180_000 }, async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-rtmps-'));
  const first = await selfSigned(dir, 'first');
  const second = await selfSigned(dir, 'second');
  const live = { cert: path.join(dir, 'live.crt'), key: path.join(dir, 'live.key') };
  await run('cp', [first.cert, live.cert]);
  await run('cp', [first.key, live.key]);
  const src = await fixture({ seconds: 10, width: 640, height: 360, videoKbps: 800 });
  const server = await startServer({
    events: true,
    config: { server: { rtmpsPort: 0 }, applications: [{ name: 'live', s3RecordingEnabled: false }] },
    env: { BUCKETCAST_TLS_CERT_FILE: live.cert, BUCKETCAST_TLS_KEY_FILE: live.key },
  });
  try {
    const port = Number(server.rtmpsPort);
    assert.ok(port > 0 && port !== server.rtmpPort, `an RTMPS port of its own: ${port}`);

    const p = push(`rtmps://127.0.0.1:${port}/live/secure`, src);
    const started = await server.events.waitFor('recording.started', (e) => e.streamId === 'secure', 20_000, 'rtmps recording');

    // A plain RTMP handshake and a TLS record of garbage on the RTMPS port: both are dropped.
    const plain = await dropped(port, Buffer.concat([Buffer.from([3]), Buffer.alloc(1536, 1)]));
    const broken = await dropped(port, Buffer.from([0x16, 0x03, 0x01, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8]));
    t.diagnostic(`plain RTMP dropped after ${plain} ms, broken TLS after ${broken} ms`);
    assert.ok(plain < 15_000 && broken < 15_000, 'both dropped by the server');

    // Renewal: new files in place, SIGHUP, and new connections get the new certificate.
    assert.equal(await servedCertificate(port), new X509Certificate(readFileSync(first.cert)).fingerprint256);
    await run('cp', [second.cert, live.cert]);
    await run('cp', [second.key, live.key]);
    server.proc.kill('SIGHUP');
    const renewed = new X509Certificate(readFileSync(second.cert)).fingerprint256;
    // The reload is asynchronous: new connections get the renewed certificate within 10 s.
    await until(async () => (await servedCertificate(port)) === renewed, 10_000, 'the renewed certificate served');
    assert.equal(await servedCertificate(port), renewed, 'the renewed certificate is served');

    const done = await p.done;
    assert.equal(done.code, 0, `the rtmps publisher was not disturbed: ${done.stderr}`);
    const name = String(started.name);
    await server.events.waitFor('recording.completed', (e) => e.name === name, 30_000, 'rtmps recording completed');
    const mp4 = path.join(server.dataDir, 'live', 'streams', `${name}.mp4`);
    const probed = await ffprobe(mp4);
    const pushed = (await ffprobe(src)).duration;
    assert.ok(Math.abs(probed.duration - pushed) <= 0.5, `mp4 lasts ${probed.duration} s, pushed ${pushed} s`);
    assert.ok(await decodesCleanly(mp4), 'the rtmps recording decodes cleanly');
    assert.equal(server.proc.exitCode, null, 'the server is still running');
  } finally {
    await server.stop();
    server.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rtmpsPort without a certificate and key is a configuration error naming the keys', async () => {
  const server = await startServer({ config: { server: { rtmpsPort: 0 }, applications: [{ name: 'live', s3RecordingEnabled: false }] } }).catch((e: Error) => e);
  assert.ok(server instanceof Error, 'the server does not start');
  assert.match(server.message, /tlsCertFile/);
});
