/**
 * In-process checks of what the fault-injection and hostile-input suites
 * (test/faults/, test/http/hostile-http, test/ingest/hostile-rtmp) show end to
 * end, each named after the behaviour it pins. Fast: no server process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { createLogger } from '../../src/log/logger.js';
import { AppRegistry } from '../../src/apps/app-registry.js';
import { StreamRegistry } from '../../src/ingest/stream-registry.js';
import { BasicPublishAuthorizer } from '../../src/ingest/publish-authorizer.js';
import { RtmpServer } from '../../src/ingest/rtmp/rtmp-server.js';
import { planOffer } from '../../src/ingest/whip/offer.js';
import { createS3Client } from '../../src/storage/targets/s3-client.js';
import { finalizeRecording } from '../../src/recording/finalizer.js';
import { RecordingManager } from '../../src/recording/recording-manager.js';
import { EventBus } from '../../src/events/event-bus.js';
import type { BusEvents, RecordingCompleted } from '../../src/events/types.js';
import { appSettings } from '../../src/config/schema.js';
import { browserLikeOffer } from '../helpers/whip.js';
import { handshake, message, u32 } from '../helpers/rtmp-fuzz.js';
import { recordingFixture } from '../helpers/recording-fixture.js';

const MiB = 1024 * 1024;
v8.setFlagsFromString('--expose-gc');
/** A full GC, to tell retained buffers from garbage. */
const gc = vm.runInNewContext('gc') as () => void;

async function rtmpServer() {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger('debug', { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  const registry = new StreamRegistry({ authorizer: new BasicPublishAuthorizer({ apps: new AppRegistry([appSettings.parse({ name: 'live' })]) }), log });
  const server = new RtmpServer({ settings: { host: '127.0.0.1', port: 0, idleTimeoutMs: 5000 }, registry, log });
  await server.start();
  return { server, lines };
}

/** Sends bytes on a new connection; resolves once the server closed it (or after `ms`). */
function send(port: number, bytes: Buffer, ms = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
    s.on('error', () => undefined);
    s.resume();
    const timer = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, ms);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

test('rtmp: 70 chunk streams each declaring 16 MiB are refused before any is allocated past 1 MiB', async () => {
  const { server, lines } = await rtmpServer();
  try {
    const before = process.memoryUsage().arrayBuffers;
    const bytes = Buffer.concat([handshake(), ...Array.from({ length: 70 }, (_, i) => message(4 + i, 9, Buffer.alloc(128, 1), { declaredLength: 0xffffff }))]);
    assert.equal(await send(server.port, bytes), true, 'the server closed the connection');
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 * MiB, 'no gigabyte of buffers');
    assert.ok(lines.some((l) => l.msg === 'rtmp protocol error, closing connection' && /would hold/.test(String(l.err))));
  } finally {
    await server.stop();
  }
});

test('rtmp: chunk size 0, a truncated Set Chunk Size and one over 2^31 close the connection', async () => {
  const { server, lines } = await rtmpServer();
  try {
    for (const payload of [u32(0), Buffer.from([0]), u32(0x80000000)]) {
      assert.equal(await send(server.port, Buffer.concat([handshake(), message(2, 1, payload)])), true);
    }
    const errs = lines.filter((l) => l.msg === 'rtmp protocol error, closing connection').map((l) => String(l.err));
    assert.ok(errs.some((e) => /invalid chunk size 0/.test(e)) && errs.some((e) => /truncated/.test(e)) && errs.some((e) => /invalid chunk size 2147483648/.test(e)), errs.join('; '));
  } finally {
    await server.stop();
  }
});

test('rtmp: idle connections do not pin NMS\'s unused 1 MiB FLV parser buffer each', async () => {
  const { server } = await rtmpServer();
  const sockets: net.Socket[] = [];
  try {
    gc();
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 200; i++) {
      const s = net.connect(server.port, '127.0.0.1');
      s.on('error', () => undefined);
      sockets.push(s);
    }
    await Promise.all(sockets.map((s) => new Promise((r) => (s.connecting ? s.once('connect', r) : r(null)))));
    await new Promise((r) => setTimeout(r, 300));
    gc();
    // 200 idle connections used to hold 200 MiB (1 MiB each, allocated and kept by NMS's constructor).
    const grown = process.memoryUsage().arrayBuffers - before;
    assert.ok(grown < 20 * MiB, `${Math.round(grown / MiB)} MiB of buffers held for 200 idle connections`);
  } finally {
    for (const s of sockets) s.destroy();
    await server.stop();
  }
});

test('rtmp: a malformed command prints nothing raw to stdout and closes the connection with a JSON log line', async () => {
  const { server, lines } = await rtmpServer();
  const printed: unknown[] = [];
  const original = console.log;
  console.log = (...a: unknown[]) => void printed.push(a);
  try {
    // A command with unsupported AMF markers after its name.
    const garbage = message(3, 20, Buffer.from([0x02, 0x00, 0x03, 0x66, 0x6f, 0x6f, 0x20, 0x0d, 0x0d]));
    await send(server.port, Buffer.concat([handshake(), garbage]), 500);
  } finally {
    console.log = original;
    await server.stop();
  }
  assert.deepEqual(printed, [], 'nothing printed raw');
  assert.ok(lines.some((l) => l.msg === 'rtmp protocol error, closing connection'), 'the refusal is in the JSON log');
});

test('whip: offers with NUL or control characters, or ports, payload types and clock rates out of range, are bad_offer', () => {
  const offer = browserLikeOffer();
  for (const bad of [
    offer.replace('s=-', 's=\0\0'),
    offer.replace('s=-', 's=\x07'),
    offer.replace(/m=video 9 /, 'm=video 99999999 '),
    offer.replace(/m=audio 9 UDP\/TLS\/RTP\/SAVPF 111/, 'm=audio 9 UDP/TLS/RTP/SAVPF 111 4294967296'),
    offer.replace('a=rtpmap:102 H264/90000', 'a=rtpmap:102 H264/99999999999999'),
    offer.replace('a=rtpmap:111 opus/48000/2', 'a=rtpmap:300 opus/48000/2'),
  ]) {
    assert.throws(() => planOffer(bad), (e: { code?: string }) => e.code === 'bad_offer');
  }
  assert.ok(planOffer(offer).video, 'a normal offer still passes');
});

test('s3 client: a server that goes silent fails the request by the inactivity timeout instead of hanging', async () => {
  const silent = http.createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as net.AddressInfo).port;
  const client = createS3Client(
    { region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true, credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, checksumCalculation: 'WHEN_REQUIRED', inactivityTimeoutMs: 1000 },
  );
  const t0 = Date.now();
  try {
    await assert.rejects(client.send(new HeadObjectCommand({ Bucket: 'b', Key: 'k' })), (e: { name?: string }) => e.name === 'TimeoutError');
    assert.ok(Date.now() - t0 < 15_000, `gave up after ${Date.now() - t0} ms (3 attempts of 1 s)`);
  } finally {
    client.destroy();
    silent.closeAllConnections();
    silent.close();
  }
});

test('finalizer: with no room for the remux the live file and its manifest are kept (not renamed .damaged), and finalized once there is room', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bc-noroom-'));
  try {
    const { m, p } = recordingFixture(dataDir, { startedAt: '2026-11-22T12:00:00.000Z' });
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'mp4', '-movflags', '+empty_moov+default_base_moof', '-frag_duration', '500000', p.live]);
    const log = createLogger('silent');
    const opts = { ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe', log, recovered: false };
    await assert.rejects(finalizeRecording(m, p, { ...opts, freeBytes: () => 1024 }), (e: { code?: string }) => e.code === 'insufficient_storage');
    assert.ok(existsSync(p.live), 'the live file is kept');
    assert.ok(existsSync(path.join(p.workDir, 'manifest.json')), 'the manifest is kept');
    assert.deepEqual(readdirSync(p.streamsDir), [], 'nothing renamed .damaged, no half-written MP4');
    const done = await finalizeRecording(m, p, { ...opts, freeBytes: () => 10 * 1024 * MiB });
    assert.ok(done && done.durationSeconds > 1.5, 'finalized once there is room');
    assert.ok(existsSync(p.final) && !existsSync(p.live));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('finalizer: a live file killed before its first fragment (header only) is no recording: nothing announced, nothing left', async () => {
  // The sigkill fault test found it (seed 990612808): killed within the first half second of media, the
  // remux of the header-only live file "succeeded" with an MP4 of no streams, announced as a 0 s recording.
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bc-headeronly-'));
  try {
    const { m, p } = recordingFixture(dataDir, { startedAt: '2026-11-23T01:00:00.000Z', previews: true });
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-t', '2', '-i', 'testsrc2=size=320x240:rate=25', '-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'mp4', '-movflags', '+empty_moov+default_base_moof', '-frag_duration', '500000', p.live]);
    truncateSync(p.live, headerLength(readFileSync(p.live)));
    // The first keyframe's preview was written; the recording it would illustrate holds nothing.
    writeFileSync(path.join(p.previewsDir, `${p.previewPrefix}0000.jpg`), 'jpeg');
    const lines: Array<Record<string, unknown>> = [];
    const log = createLogger('debug', { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
    const done = await finalizeRecording(m, p, { ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe', log, recovered: true });
    assert.equal(done, null, 'not announced as a recording');
    assert.ok(lines.some((l) => l.msg === 'recording holds no media, nothing to keep' && l.name === m.name));
    assert.deepEqual(readdirSync(p.streamsDir), [], 'no empty MP4 left');
    assert.deepEqual(readdirSync(p.previewsDir).filter((n) => n.startsWith(p.previewPrefix)), [], 'no orphan preview left');
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

/** Bytes of an fMP4's `ftyp` + `moov`, before the first fragment. */
function headerLength(buf: Buffer): number {
  let at = 0;
  while (at + 8 <= buf.length) {
    const size = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    at += size;
    if (type === 'moov') return at;
  }
  throw new Error('no moov box');
}

test('recovery: a recording finalized and handed over before a crash is announced again as it was, never finalized twice over files already uploaded', async () => {
  // The sigkill fault test found it: killed after `recording.completed` was handled by storage (files
  // queued) but before the work dir was removed, the next start finalized again while the queue was
  // uploading and deleting the files; the missing playlist made it delete the HLS segments not yet uploaded.
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bc-refinalize-'));
  try {
    const { layout, m, p } = recordingFixture(dataDir, { startedAt: '2026-11-22T13:00:00.000Z', hls: true });
    execFileSync('ffmpeg', [
      // The input is 4 s long (an input option): both outputs end with it.
      '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-t', '4', '-i', 'testsrc2=size=320x240:rate=25', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25',
      '-map', '0', '-f', 'mp4', '-movflags', '+empty_moov+default_base_moof', '-frag_duration', '500000', p.live,
      '-map', '0', '-c:v', 'copy', '-f', 'hls', '-hls_time', '1', '-hls_playlist_type', 'event', '-hls_segment_filename', `${p.streamsDir}/${p.segmentPrefix}%05d.ts`, p.playlist,
    ]);
    const events = new EventBus<BusEvents>();
    const announced: RecordingCompleted[] = [];
    // The first announcement is handled by "storage", whose uploads delete the MP4 and the playlist, and then another listener fails.
    events.on('recording.completed', (r) => {
      announced.push(r);
      if (announced.length > 1) return;
      rmSync(p.final);
      rmSync(p.playlist);
      throw new Error('a listener failed after the upload queue took the files');
    });
    const manager = new RecordingManager({ layout, apps: new AppRegistry([appSettings.parse({ name: 'live' })]), ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe', events, log: createLogger('silent') });
    await manager.start();
    await manager.whenRecovered();
    for (let i = 0; i < 100 && announced.length < 2; i++) await new Promise((r) => setTimeout(r, 100));
    await manager.stop();
    assert.equal(announced.length, 2, 'announced again after the listener failed');
    const [first, second] = announced;
    assert.deepEqual(second.files.map((f) => f.name), first.files.map((f) => f.name), 'the same files, as finalized the first time');
    assert.equal(second.durationSeconds, first.durationSeconds);
    const segments = first.files.filter((f) => f.kind === 'hls-segment');
    assert.ok(segments.length >= 3, `${segments.length} segments`);
    for (const f of segments) assert.ok(existsSync(f.path), `${f.name} is still on disk for its upload`);
    assert.ok(!existsSync(p.workDir), 'the work dir is gone once the announcement was handled');
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
