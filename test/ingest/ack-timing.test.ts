/**
 * When the server sends a publisher its RTMP Acknowledgements. A publisher that
 * pushes a file faster than real time closes its socket as soon as its last
 * write is in the kernel, with megabytes still queued behind the server's reads;
 * an Ack arriving after that close makes the publisher's kernel reset the
 * connection and drop the queue (the end of the recording). Here a real ffmpeg
 * session is replayed at full speed with a 4 KiB acknowledgement window (an Ack
 * due every 4 KiB read), closed the moment its last byte is written.
 */
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { startServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { decodesCleanly, ffprobe } from '../helpers/media.js';
import { capturePublish, message, replaceSameLength, u32 } from '../helpers/rtmp-fuzz.js';
import { AckTiming, CALM_MS } from '../../src/ingest/rtmp/ack-timing.js';
import type { PublisherLag } from '../../src/ingest/rtmp/publisher-lag.js';

test('after a hold, a publisher read at what looks like real time gets its Acks only once it has been calm a while, or quiet', () => {
  mock.timers.enable({ apis: ['Date', 'setTimeout'], now: 1_000_000 });
  try {
    const sent: number[] = [];
    const state = { held: false, backlogged: false, ahead: 0 };
    const lag = { aheadMs: () => state.ahead } as unknown as PublisherLag;
    const acks = new AckTiming({ lag, send: (b) => sent.push(b), held: () => state.held, backlogged: () => state.backlogged }, 1000);
    // A live publisher: every window acknowledged at once.
    acks.received(1000);
    assert.deepEqual(sent, [1000]);
    // Held, then released: the first reads after the hold find it backlogged, the next ones at real time (the
    // recorder drains slowly, so the reads come no faster than the clock) — while the push behind them still waits.
    state.held = true;
    acks.received(1500);
    state.held = false;
    state.backlogged = true;
    acks.received(1800);
    state.backlogged = false;
    for (let t = 0, b = 2000; t < CALM_MS - 500; t += 250, b += 400) {
      mock.timers.tick(250);
      acks.received(b);
    }
    assert.deepEqual(sent, [1000], 'no Ack while the publisher may still have a queue');
    // Quiet for half a second (a client that waits for its Ack): it gets it.
    mock.timers.tick(600);
    assert.equal(sent.length, 2, 'the quiet publisher is acknowledged');
    // Calm long enough: Acks go at once again.
    mock.timers.tick(CALM_MS);
    acks.received(sent[1] + 1000);
    assert.deepEqual(sent.at(-1), sent[1] + 1000);
    // Ahead of the clock (a file pushed as fast as it is read): waits again.
    state.ahead = 800;
    acks.received(sent.at(-1)! + 1000);
    state.ahead = 0;
    mock.timers.tick(100);
    acks.received(sent.at(-1)! + 2000);
    assert.equal(sent.length, 3);
    acks.stop();
  } finally {
    mock.timers.reset();
  }
});

test('a publisher that pushes faster than real time and closes at once is recorded in full: no Ack reaches it after its close', { timeout: 180_000 }, async () => {
  const src = await fixture({ seconds: 20, width: 1280, height: 720, videoKbps: 6000 });
  const server = await startServer({ events: true });
  try {
    const capture = await capturePublish(server.rtmpPort, 'live', 'capture', src, 64 * 1024 * 1024);
    const session = replaceSameLength(capture.bytes, 'capture', 'fastcap');
    // Window Acknowledgement Size 4096, right after the publish command (a chunk boundary).
    const window = message(2, 5, u32(4096), { chunkSize: capture.chunkSize });
    const bytes = Buffer.concat([session.subarray(0, capture.afterPublish), window, session.subarray(capture.afterPublish)]);
    const started = server.events.waitFor('recording.started', (e) => e.streamId === 'fastcap', 30_000, 'recording started');
    const closed = await new Promise<{ reset: boolean }>((resolve) => {
      const sock = net.connect(server.rtmpPort, '127.0.0.1');
      let reset = false;
      sock.on('data', () => undefined); // what the server sends is read, as ffmpeg does while it writes
      sock.on('error', () => (reset = true));
      sock.on('close', () => resolve({ reset }));
      // Closed as soon as the last byte is in the kernel's send buffer, as ffmpeg does.
      sock.write(bytes, () => sock.destroy());
    });
    assert.equal(closed.reset, false, 'the client side saw no error');
    const { name } = await started;
    await server.events.waitFor('recording.completed', (e) => e.name === name, 120_000, 'recording completed');
    const resets = server.logs.filter((l) => l.msg === 'rtmp socket error').map((l) => l.err);
    assert.deepEqual(resets, [], 'the connection ends without a reset');
    const mp4 = path.join(server.dataDir, 'live', 'streams', `${name}.mp4`);
    const expected = (await ffprobe(src)).duration;
    const probed = await ffprobe(mp4);
    assert.ok(Math.abs(probed.duration - expected) <= 0.5, `recorded ${probed.duration} s of ${expected} s`);
    assert.ok(await decodesCleanly(mp4), 'decodes without errors');
  } finally {
    await server.stop();
    server.cleanup();
  }
});
