/**
 * The FLV feed's hand-off to a recorder: tags go out in batches (one write per
 * FLUSH_MS, not one per socket read), nothing is lost at the end, and a burst is
 * written at once so a slow recorder can hold the publisher back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlvFeed } from '../../src/ingest/rtmp/flv-feed.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const AVC_HEADER = Buffer.from([0x17, 0x00, 0, 0, 0, 1, 0x64, 0, 0x1f]);
const key = (n: number) => Buffer.concat([Buffer.from([0x17, 0x01, 0, 0, 0]), Buffer.alloc(n, 1)]);
const inter = (n: number) => Buffer.concat([Buffer.from([0x27, 0x01, 0, 0, 0]), Buffer.alloc(n, 2)]);

/** Opens a reader and counts its writes and bytes. */
function watch(feed: FlvFeed): { writes: () => number; bytes: () => number; ended: Promise<void> } {
  const out = feed.open().stream;
  let writes = 0;
  let bytes = 0;
  out.on('data', (c: Buffer) => {
    writes++;
    bytes += c.length;
  });
  return { writes: () => writes, bytes: () => bytes, ended: new Promise((r) => out.once('end', () => r())) };
}

test('a real-time stream reaches its recorder in about ten writes a second, not one per message', async () => {
  const feed = new FlvFeed();
  feed.push(9, 0, AVC_HEADER);
  feed.push(9, 0, key(20_000));
  const r = watch(feed);
  await sleep(150);
  const before = r.writes();
  // 80 messages a second (30 video frames + 47 AAC frames, about what a 3 Mbit/s encoder sends), for 1 s.
  let dts = 0;
  await new Promise<void>((resolve) => {
    let n = 0;
    const t = setInterval(() => {
      feed.push(n % 3 === 0 ? 9 : 8, (dts += 12), n % 3 === 0 ? inter(1500) : Buffer.from([0xaf, 0x01, 1, 2, 3, 4]));
      if (++n === 80) {
        clearInterval(t);
        resolve();
      }
    }, 12);
  });
  await sleep(150);
  const writes = r.writes() - before;
  assert.ok(writes >= 5 && writes <= 15, `${writes} writes for 80 messages over ~1 s`);
  feed.end();
  await r.ended;
});

test('the end writes every queued tag: the bytes out are the header, the tags and their sizes', async () => {
  const feed = new FlvFeed();
  feed.push(9, 0, AVC_HEADER);
  const r = watch(feed);
  let payload = 0;
  for (let i = 0; i < 50; i++) {
    const d = i === 0 ? key(1000) : inter(100 + i);
    payload += d.length + 15;
    feed.push(9, i * 33, d);
  }
  feed.end(); // before the flush timer fires
  await r.ended;
  assert.equal(r.bytes(), 13 + (AVC_HEADER.length + 15) + payload);
});

test('a burst past the flush size is written at the next turn, not after the flush interval', async () => {
  const feed = new FlvFeed();
  feed.push(9, 0, AVC_HEADER);
  const r = watch(feed);
  await sleep(150);
  const before = r.bytes();
  for (let i = 0; i < 40; i++) feed.push(9, i * 10, i === 0 ? key(10_000) : inter(10_000));
  await new Promise((res) => setImmediate(res));
  await new Promise((res) => setImmediate(res));
  assert.ok(r.bytes() - before >= 256 * 1024, `${r.bytes() - before} bytes written at once`);
  feed.end();
  await r.ended;
});

test('the GOP cache keeps its own copy of a message that is a view of a larger read buffer, and replays it intact', async () => {
  const feed = new FlvFeed();
  // One socket read of 64 KiB carrying several messages: the parser hands each on as a view of it.
  const read = Buffer.alloc(64 * 1024, 9);
  const header = read.subarray(0, AVC_HEADER.length);
  AVC_HEADER.copy(header);
  const frame = read.subarray(100, 100 + 3000);
  key(3000 - 5).copy(frame);
  feed.push(9, 0, header);
  feed.push(9, 0, frame);
  const cache = (feed as unknown as { gop: { packets: Array<{ data: Buffer }> } }).gop.packets;
  assert.equal(cache.length, 1);
  assert.notEqual(cache[0].data.buffer, read.buffer, 'the cached keyframe does not hold the 64 KiB read alive');
  assert.ok(cache[0].data.equals(frame), 'the same bytes');
  // A reader opened now gets the cached keyframe from the copy.
  const out = feed.open().stream;
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  feed.end();
  await new Promise((r) => out.once('end', r));
  assert.ok(Buffer.concat(chunks).includes(frame), 'the replayed FLV carries the frame');
});

test('GOP after GOP the cache refills the same memory, and a reader opened mid-stream gets the current GOP intact', async () => {
  const feed = new FlvFeed();
  const first = watch(feed); // the first recorder: from now on the cache holds only the current GOP
  const cache = () => (feed as unknown as { gop: { packets: Array<{ data: Buffer }> } }).gop.packets;
  feed.push(9, 0, AVC_HEADER);
  const blocks = new Set<ArrayBufferLike>();
  let dts = 0;
  let last: Buffer[] = [];
  for (let gop = 0; gop < 12; gop++) {
    last = [];
    for (let i = 0; i < 30; i++) {
      const d = i === 0 ? key(20_000) : inter(8_000);
      d.fill(gop * 30 + i, 5);
      last.push(d);
      feed.push(9, (dts += 33), d);
    }
    blocks.add(cache()[0].data.buffer);
  }
  assert.ok(blocks.size <= 2, `the cached keyframes of 12 GOPs lay in ${blocks.size} buffers`);
  // A second recorder now: the current GOP, byte for byte, after the sequence header.
  const out = feed.open().stream;
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  feed.end();
  await new Promise((r) => out.once('end', r));
  await first.ended;
  const flv = Buffer.concat(chunks);
  let off = 13 + 15 + AVC_HEADER.length;
  for (const d of last) {
    assert.equal(flv.readUIntBE(off + 1, 3), d.length);
    assert.ok(flv.subarray(off + 11, off + 11 + d.length).equals(d), 'a replayed frame differs');
    off += 15 + d.length;
  }
  assert.equal(off, flv.length);
});

test('frames queued for a reader are not overwritten when a new GOP refills the cache before the flush', async () => {
  const feed = new FlvFeed();
  feed.push(9, 0, AVC_HEADER);
  const out = feed.open().stream;
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const sent: Buffer[] = [];
  // Several GOPs inside one flush interval: each keyframe resets the cache while the reader's queue still waits.
  for (let gop = 0; gop < 4; gop++) {
    for (let i = 0; i < 5; i++) {
      const d = i === 0 ? key(3000) : inter(2000);
      d.fill(gop * 5 + i + 1, 5);
      sent.push(d);
      feed.push(9, (gop * 5 + i) * 33, d);
    }
  }
  feed.end();
  await new Promise((r) => out.once('end', r));
  const flv = Buffer.concat(chunks);
  let off = 13 + 15 + AVC_HEADER.length;
  for (const d of sent) {
    assert.ok(flv.subarray(off + 11, off + 11 + d.length).equals(d), 'a frame was overwritten before it was written');
    off += 15 + d.length;
  }
});
