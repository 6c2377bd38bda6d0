/**
 * When the server sends a publisher its RTMP Acknowledgements. A publisher that
 * pushes a file faster than real time closes its socket as soon as its last
 * write is in the kernel, with megabytes still queued behind the server's reads;
 * an Ack arriving after that close makes the publisher's kernel reset the
 * connection and drop the queue (the end of the recording). Here a real ffmpeg
 * session is replayed at full speed with a 4 KiB acknowledgement window (an Ack
 * due every 4 KiB read), closed the moment its last byte is written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { startServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { decodesCleanly, ffprobe } from '../helpers/media.js';
import { capturePublish, message, replaceSameLength, u32 } from '../helpers/rtmp-fuzz.js';

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
