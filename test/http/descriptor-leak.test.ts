/**
 * Sockets the server does not want are closed, so floods cannot exhaust its
 * descriptors or hold up a graceful shutdown: an upgrade request to any path
 * but the events channel is answered 404 and closed (Node hands an upgraded
 * socket over and never times it out); 500 `Upgrade: x` connections plus 500
 * idle ones to each port (HTTP, RTMP, RTMPS) bring the descriptor count back
 * to its baseline within the header timeout while a publisher alongside is
 * recorded in full; and RTMPS clients that stop in the middle of a
 * ClientHello are closed when the handshake times out (Node reports
 * `tlsClientError` but leaves the socket open).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { startServer, until } from '../helpers/server.js';
import { adminEnv } from '../helpers/api.js';
import { fixture } from '../helpers/fixtures.js';
import { decodesCleanly, ffprobe, push } from '../helpers/media.js';
import { descriptors, flood, upgradeRequest, type Flood } from '../helpers/descriptors.js';

const HEADERS_TIMEOUT_S = 4;

/** A self-signed certificate for the RTMPS listener. */
function selfSigned(): { dir: string; cert: string; key: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-fdleak-'));
  const cert = path.join(dir, 'c.crt');
  const key = path.join(dir, 'c.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { dir, cert, key };
}

/** The first bytes of a TLS ClientHello: a record header announcing 512 bytes, a handshake header, then nothing. */
const HALF_CLIENT_HELLO = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]).toString('latin1');
/** Node checks HTTP timeouts every second, opening a flood of 500 takes about a second, and a loaded 2-core machine takes a moment to close 1 500 sockets. */
const SLACK_MS = 4_000;

test('upgrades to other paths are answered 404 and their sockets closed; the shutdown stays graceful', async () => {
  const server = await startServer({ env: adminEnv(), config: { server: { httpHeadersTimeoutSeconds: HEADERS_TIMEOUT_S }, applications: [{ name: 'live', s3RecordingEnabled: false }] } });
  const pid = server.proc.pid!;
  let f: Awaited<ReturnType<typeof flood>> | undefined;
  try {
    const baseline = await until(async () => {
      const a = descriptors(pid).total;
      await new Promise((r) => setTimeout(r, 300));
      return descriptors(pid).total === a ? a : 0;
    }, 10_000, 'a stable descriptor count');
    f = await flood(server.httpPort, 200, upgradeRequest('/'));
    const other = await flood(server.httpPort, 20, upgradeRequest('/api/v1/other'));
    const t0 = Date.now();
    await until(() => descriptors(pid).total <= baseline, HEADERS_TIMEOUT_S * 1000 + SLACK_MS, `descriptors back to ${baseline} (now ${descriptors(pid).total})`);
    const took = Date.now() - t0;
    await until(() => f!.closedByServer() === 200 && other.closedByServer() === 20, 5_000, 'every upgrade socket closed by the server');
    assert.ok(f.firstLines.length === 200 && f.firstLines.every((l) => l === 'HTTP/1.1 404 Not Found'), `each was answered 404 (${[...new Set(f.firstLines)].join(', ')})`);
    assert.ok(took < HEADERS_TIMEOUT_S * 1000, `closed at once, not by a timeout (${took} ms)`);
    const health = await fetch(`${server.httpUrl}/healthz`);
    assert.equal(health.status, 200, 'the server still answers');
    // The flood's client sockets stay open: the shutdown must not need the forced exit.
    await server.stop();
    const exit = await server.exited;
    assert.equal(exit.code, 0, 'graceful shutdown exits 0');
    assert.ok(!server.logs.some((l) => l.msg === 'shutdown took too long, exiting'), 'no forced exit');
  } finally {
    f?.destroy();
    await server.stop();
    server.cleanup();
  }
});

test('500 upgrades and 500 idle connections to each port (HTTP, RTMP, RTMPS): descriptors back to baseline within the header timeout, a publisher recorded in full', async (t) => {
  const src = await fixture({ seconds: 24, width: 426, height: 240, fps: 25, videoKbps: 300 });
  const tlsFiles = selfSigned();
  const server = await startServer({
    events: true,
    env: { ...adminEnv(), BUCKETCAST_TLS_CERT_FILE: tlsFiles.cert, BUCKETCAST_TLS_KEY_FILE: tlsFiles.key },
    config: {
      server: { httpHeadersTimeoutSeconds: HEADERS_TIMEOUT_S, rtmpIdleTimeoutSeconds: HEADERS_TIMEOUT_S, rtmpsPort: 0 },
      applications: [{ name: 'live', s3RecordingEnabled: false, previews: { enabled: false } }],
    },
  });
  const pid = server.proc.pid!;
  const floods: Array<Awaited<ReturnType<typeof flood>>> = [];
  try {
    const rtmpsPort = Number(server.rtmpsPort);
    assert.ok(rtmpsPort > 0, 'an RTMPS listener');
    const publisher = push(server.rtmpUrl('live', 'legit'), src);
    const started = await server.events.waitFor('recording.started', (e) => e.streamId === 'legit', 20_000, 'legit recording');
    // Baseline while the publisher records (its socket and ffmpeg's pipes are part of it).
    await new Promise((r) => setTimeout(r, 1500));
    const baseline = descriptors(pid);
    floods.push(await flood(server.httpPort, 500, upgradeRequest('/')));
    floods.push(await flood(server.httpPort, 500));
    floods.push(await flood(server.rtmpPort, 500));
    // RTMPS from addresses of their own, so each flood has the per-address RTMP cap's 32 places to fill: those 32
    // hang in the TLS handshake until its timeout (rtmpIdleTimeoutSeconds), the other 468 are refused at once.
    floods.push(await flood(rtmpsPort, 500, '', '127.0.0.3'));
    floods.push(await flood(rtmpsPort, 500, HALF_CLIENT_HELLO, '127.0.0.4'));
    const t0 = Date.now();
    let peak = 0;
    await until(() => {
      const d = descriptors(pid);
      peak = Math.max(peak, d.total);
      return d.total <= baseline.total;
    }, HEADERS_TIMEOUT_S * 1000 + SLACK_MS, `descriptors back to ${baseline.total} (now ${descriptors(pid).total})`, 100);
    t.diagnostic(`descriptors: ${baseline.total} before (${baseline.sockets} sockets), ${peak} at the peak seen, back to baseline ${Date.now() - t0} ms after the last connection opened`);
    await until(() => floods.every((f) => f.closedByServer() === 500), 5_000, 'every flood socket closed by the server');
    t.diagnostic(
      `last close after the start of each flood: upgrades ${floods[0].lastCloseMs()} ms, idle HTTP ${floods[1].lastCloseMs()} ms, idle RTMP ${floods[2].lastCloseMs()} ms, ` +
        `idle RTMPS ${floods[3].lastCloseMs()} ms, half a ClientHello ${floods[4].lastCloseMs()} ms`,
    );
    const handshakeTimeouts = server.logs.filter((l) => l.msg === 'rtmps handshake failed' && /timeout/i.test(String(l.err))).length;
    t.diagnostic(`RTMPS handshakes timed out (each destroyed): ${handshakeTimeouts}`);

    const done = await publisher.done;
    assert.equal(done.code, 0, `the publisher ran to its end: ${done.stderr}`);
    const name = String(started.name);
    const completed = await server.events.waitFor('recording.completed', (e) => e.name === name, 30_000, 'legit recording completed');
    const probed = await ffprobe(src);
    assert.ok(Math.abs(Number(completed.durationSeconds) - probed.duration) < 0.5, `the recording is complete (${completed.durationSeconds} s of ${probed.duration} s)`);
    assert.ok(await decodesCleanly(path.join(server.dataDir, 'live', 'streams', `${name}.mp4`)), 'and decodes cleanly');
  } finally {
    for (const f of floods) f.destroy();
    await server.stop();
    server.cleanup();
    rmSync(tlsFiles.dir, { recursive: true, force: true });
  }
});

test('TLS clients that never finish the RTMPS handshake do not hold up a graceful shutdown', async (t) => {
  const tlsFiles = selfSigned();
  const server = await startServer({
    env: { ...adminEnv(), BUCKETCAST_TLS_CERT_FILE: tlsFiles.cert, BUCKETCAST_TLS_KEY_FILE: tlsFiles.key },
    // The default 10 s idle timeout is the TLS handshake timeout; the shutdown gets 30 s before the forced exit.
    config: { server: { rtmpsPort: 0, shutdownTimeoutSeconds: 30 }, applications: [{ name: 'live', s3RecordingEnabled: false }] },
  });
  const floods: Flood[] = [];
  try {
    const rtmpsPort = Number(server.rtmpsPort);
    floods.push(await flood(rtmpsPort, 5), await flood(rtmpsPort, 5, HALF_CLIENT_HELLO));
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    server.proc.kill('SIGTERM');
    const exit = await server.exited;
    const took = Date.now() - t0;
    t.diagnostic(`shutdown with 10 clients in the TLS handshake took ${took} ms`);
    assert.equal(exit.code, 0, 'graceful shutdown exits 0');
    assert.ok(!server.logs.some((l) => l.msg === 'shutdown took too long, exiting'), 'no forced exit');
    assert.ok(took < 5_000, `not held until the 10 s handshake timeout (${took} ms)`);
    assert.equal(floods[0].closedByServer() + floods[1].closedByServer(), 10, 'every handshaking client closed by the server');
  } finally {
    for (const f of floods) f.destroy();
    await server.stop();
    server.cleanup();
    rmSync(tlsFiles.dir, { recursive: true, force: true });
  }
});
