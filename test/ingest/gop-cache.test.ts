/**
 * The one cache both ingests start their recorders from: the preroll until the
 * first reader, the current GOP afterwards, its limits, and when a recorder may
 * start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AUDIO_ONLY_MS, GOP_LIMIT, GopCache, PREROLL_LIMIT, type CachedPacket } from '../../src/ingest/gop-cache.js';

interface Pkt extends CachedPacket {
  n: number;
}

const cache = (opts: { video?: boolean; hold?: { hold(): void; release(): void } } = {}) =>
  new GopCache<Pkt>({ withData: (p, data) => ({ n: p.n, data, at: p.at }), video: opts.video, holdPublisher: opts.hold });
const pkt = (n: number, size = 100) => ({ n, data: Buffer.alloc(size, n & 0xff), at: Date.now() });

test('the preroll keeps the stream from its first packet until a reader opens; then only the current GOP', () => {
  const c = cache({ video: true });
  c.add(pkt(1), false); // audio before the first keyframe
  c.add(pkt(2), true);
  c.add(pkt(3), false);
  c.add(pkt(4), true); // a second GOP before any reader: the preroll keeps both
  const replay = c.open();
  assert.deepEqual(replay.map((p) => p.n), [1, 2, 3, 4]);
  assert.ok(replay.every((p) => p.data.equals(Buffer.alloc(100, p.n))), 'the bytes are intact');
  c.add(pkt(5), false);
  c.add(pkt(6), true);
  c.add(pkt(7), false);
  assert.deepEqual(c.open().map((p) => p.n), [6, 7], 'a later reader starts at the current keyframe');
  c.end();
});

test('the cache keeps copies: the caller may reuse its buffers', () => {
  const c = cache({ video: true });
  const p = pkt(1);
  c.add(p, true);
  p.data.fill(0xee);
  assert.ok(c.open()[0].data.equals(Buffer.alloc(100, 1)));
  c.end();
});

test('a GOP past its limit once a reader opened is dropped; new readers wait for the next keyframe', () => {
  const c = cache({ video: true });
  c.add(pkt(1), true);
  c.open();
  const big = 4 * 1024 * 1024;
  for (let i = 0; i * big <= GOP_LIMIT; i++) c.add(pkt(2 + i, big), false);
  assert.equal(c.open().length, 0, 'nothing cached past the limit');
  c.add(pkt(100), false);
  assert.equal(c.open().length, 0, 'frames without their keyframe are not cached');
  c.add(pkt(101), true);
  assert.deepEqual(c.open().map((p) => p.n), [101]);
  c.end();
});

test('a full preroll holds a publisher that can be held, until the first reader opens', () => {
  const calls: string[] = [];
  const c = cache({ video: true, hold: { hold: () => calls.push('hold'), release: () => calls.push('release') } });
  const big = 8 * 1024 * 1024;
  c.add(pkt(0), true);
  for (let i = 1; i * big <= PREROLL_LIMIT; i++) c.add(pkt(i, big), false);
  assert.deepEqual(calls, ['hold']);
  c.add(pkt(50), true); // a keyframe while held: the preroll is kept
  const replay = c.open();
  assert.equal(replay[0].n, 0, 'the first recorder gets the stream from its start');
  assert.deepEqual(calls, ['hold', 'release']);
  c.end();
});

test('without a hold, a full preroll restarts at the next keyframe (WHIP cannot hold its publisher)', () => {
  const c = cache({ video: true });
  const big = 8 * 1024 * 1024;
  c.add(pkt(0), true);
  for (let i = 1; i * big <= PREROLL_LIMIT; i++) c.add(pkt(i, big), false);
  c.add(pkt(50), true);
  assert.deepEqual(c.open().map((p) => p.n), [50]);
  c.end();
});

test('a recorder may start at the first keyframe, or after the audio-only wait without video', async () => {
  const v = cache({ video: true });
  let ready = false;
  void v.ready().then(() => (ready = true));
  v.add(pkt(1), false);
  await new Promise((r) => setImmediate(r));
  assert.equal(ready, false, 'not before a keyframe');
  v.add(pkt(2), true);
  await new Promise((r) => setImmediate(r));
  assert.equal(ready, true);
  v.end();

  const a = cache();
  const t0 = Date.now();
  a.add(pkt(1), false);
  await a.ready();
  const waited = Date.now() - t0;
  assert.ok(waited >= AUDIO_ONLY_MS - 20 && waited < AUDIO_ONLY_MS + 1000, `audio-only after ${waited} ms`);
  assert.equal(a.open().length, 1, 'its audio from the first packet');
  a.end();

  const e = cache({ video: true });
  const ended = e.ready();
  e.end();
  await ended; // the stream ended before a keyframe: waiters are not left hanging
});
