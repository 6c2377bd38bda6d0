/**
 * Fault injection: publishers that misbehave at the TCP level.
 * - one stalls after publishing started (connection open, no more bytes);
 * - one drops off without closing (black-holed mid-stream, no FIN, no RST);
 * - one stalls in the middle of the RTMP handshake;
 * - one drips a byte now and then, never finishing the handshake.
 * Each is ended by the server (idle timeout, or the publish deadline for the
 * drip); the recordings of the two publishers are finalized and uploaded, their
 * stream ids are free again, and a publisher alongside them is unaffected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { ffprobe, push } from '../helpers/media.js';
import { credentialEnv, s3SettingsFor, startS3Target } from '../helpers/s3.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { assertHealthy, assertInBucketOnce, assertNothingLeftLocally, freshPushUploads, waitUploaded } from '../helpers/fault.js';

const BUCKET = 'stalls';
const IDLE_S = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Opens a raw TCP connection and resolves with when the server closed it. */
function rawClient(port: number): { socket: net.Socket; closedAt: Promise<number> } {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.resume();
  return { socket, closedAt: new Promise((r) => socket.on('close', () => r(Date.now()))) };
}

test('stalled, dropped and half-handshaked publishers are ended; their recordings are finalized and uploaded', async (t) => {
  const s3 = await startS3Target();
  await s3.createBucket(BUCKET);
  const long = await fixture({ seconds: 16, width: 640, height: 360, videoKbps: 800 });
  const short = await fixture({ seconds: 3, width: 640, height: 360, videoKbps: 800 });
  const server = await startServer({
    events: true,
    env: credentialEnv(s3),
    config: {
      server: { rtmpIdleTimeoutSeconds: IDLE_S },
      storage: { retryMaxDelaySeconds: 4 },
      applications: [{ name: 'live', s3: s3SettingsFor(s3, BUCKET) }],
    },
  });
  const proxies = [await startTcpProxy(server.rtmpPort), await startTcpProxy(server.rtmpPort)];
  try {
    const other = push(server.rtmpUrl('live', 'other'), long);
    const otherStarted = await server.events.waitFor('recording.started', (e) => e.streamId === 'other', 20_000, 'other recording');

    // Handshake stall: C0 and part of C1, then nothing. Drip: a byte every 2 s, under the idle timeout.
    const half = rawClient(server.rtmpPort);
    half.socket.write(Buffer.concat([Buffer.from([3]), Buffer.alloc(500, 7)]));
    const halfSince = Date.now();
    const drip = rawClient(server.rtmpPort);
    const dripSince = Date.now();
    const dripTimer = setInterval(() => drip.socket.writable && drip.socket.write(Buffer.from([3])), 2000);

    const misbehave = async (id: string, proxyIndex: number, how: 'freeze' | 'blackhole') => {
      const proxy = proxies[proxyIndex];
      const p = push(`rtmp://127.0.0.1:${proxy.port}/live/${id}`, long);
      const started = await server.events.waitFor('recording.started', (e) => e.streamId === id, 20_000, `${id} recording`);
      await sleep(2500);
      proxy[how]();
      const since = Date.now();
      await p.stop('SIGKILL');
      const ended = await server.events.waitFor('stream.ended', (e) => e.streamId === id, (IDLE_S + 15) * 1000, `${id} ended`);
      assert.equal(ended.reason, 'idle timeout', `${id}: ended by the idle timeout`);
      const after = (Date.parse(ended.endedAt) - since) / 1000;
      assert.ok(after >= IDLE_S - 0.5 && after < IDLE_S + 6, `${id}: ended ${after} s after it went silent`);
      await proxy.serverClosed;
      t.diagnostic(`${id} (${how}): ended ${after.toFixed(1)} s after going silent`);
      return String(started.name);
    };
    const [stalledName, droppedName] = await Promise.all([misbehave('stalled', 0, 'freeze'), misbehave('dropped', 1, 'blackhole')]);

    const halfClosed = (await half.closedAt) - halfSince;
    assert.ok(halfClosed < (IDLE_S + 4) * 1000, `the half handshake was closed after ${halfClosed} ms`);
    const dripClosed = (await drip.closedAt) - dripSince;
    clearInterval(dripTimer);
    assert.ok(dripClosed >= 9_000 && dripClosed < 16_000, `the dripping connection was closed by the publish deadline after ${dripClosed} ms`);

    await waitUploaded(server, [stalledName, droppedName], 60_000);
    for (const name of [stalledName, droppedName]) {
      const [done] = server.events.all('recording.completed', (e) => e.name === name);
      assert.ok(Number(done.durationSeconds) >= 1.5, `${name} kept what was sent before the silence (${done.durationSeconds} s)`);
    }

    // The stream ids are free again.
    const again = await freshPushUploads(server, short, 'stalled');
    assert.equal((await other.done).code, 0, 'the other publisher was not disturbed');
    const otherName = String(otherStarted.name);
    await waitUploaded(server, [otherName], 60_000);
    const [otherDone] = server.events.all('recording.completed', (e) => e.name === otherName);
    const probed = await ffprobe(long);
    assert.ok(Math.abs(Number(otherDone.durationSeconds) - probed.duration) < 0.5, `the other recording is complete (${otherDone.durationSeconds} s of ${probed.duration} s)`);

    await assertInBucketOnce(s3, BUCKET, [stalledName, droppedName, again, otherName]);
    assertNothingLeftLocally(server.dataDir, 'live', ['stalled', 'dropped', 'other']);
    const health = await assertHealthy(server);
    assert.equal(health.liveStreams, 0);
  } finally {
    for (const p of proxies) await p.close();
    await server.stop();
    server.cleanup();
    await s3.cleanup();
  }
});
