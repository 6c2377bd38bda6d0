/**
 * The packet arena that holds a feed's cached GOP: copies stay intact until the
 * next reset, blocks are refilled GOP after GOP instead of allocated again, a
 * packet larger than a block fits, and a large preroll is let go afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketArena } from '../../src/ingest/packet-arena.js';

const MiB = 1024 * 1024;
const packet = (n: number, fill: number) => Buffer.alloc(n, fill);

test('kept packets are copies that stay intact while more are kept, until the reset', () => {
  const a = new PacketArena();
  const src = packet(5000, 1);
  const kept = [a.keep(src)];
  src.fill(0); // the caller's buffer is reused: the copy must not change
  for (let i = 2; i < 600; i++) kept.push(a.keep(packet(3000 + i, i & 0xff))); // ~2 MiB: crosses blocks
  assert.ok(kept[0].equals(packet(5000, 1)));
  for (let i = 2; i < 600; i++) assert.ok(kept[i - 1].equals(packet(3000 + i, i & 0xff)), `packet ${i}`);
  assert.ok(a.capacity >= 2 * MiB && a.capacity <= 3 * MiB, `${a.capacity} bytes in blocks`);
});

test('GOP after GOP the same blocks are refilled: no new allocation in a steady stream', () => {
  const a = new PacketArena();
  const blocks = new Set<ArrayBufferLike>();
  for (let gop = 0; gop < 20; gop++) {
    a.reset();
    for (let i = 0; i < 90; i++) blocks.add(a.keep(packet(12_000, gop)).buffer); // ~1 MiB a GOP
  }
  // One GOP spans two blocks; they (and at most one spare) are all there ever were.
  assert.ok(blocks.size <= 3, `${blocks.size} distinct blocks over 20 GOPs`);
});

test('a packet larger than a block gets a block of its size, and the arena goes on after it', () => {
  const a = new PacketArena();
  const small = a.keep(packet(100, 7));
  const big = a.keep(packet(3 * MiB, 8));
  const after = a.keep(packet(200, 9));
  assert.ok(small.equals(packet(100, 7)) && big.equals(packet(3 * MiB, 8)) && after.equals(packet(200, 9)));
  a.reset();
  const again = a.keep(packet(3 * MiB, 10));
  assert.ok(again.equals(packet(3 * MiB, 10)));
});

test('a large preroll is let go a few GOPs later; release frees everything', () => {
  const a = new PacketArena();
  for (let i = 0; i < 40; i++) a.keep(packet(256 * 1024, i)); // a 10 MiB preroll
  assert.ok(a.capacity >= 10 * MiB);
  for (let gop = 0; gop < 6; gop++) {
    a.reset();
    for (let i = 0; i < 10; i++) a.keep(packet(50_000, gop)); // ~0.5 MiB GOPs
  }
  assert.ok(a.capacity <= 2 * MiB, `${a.capacity} bytes kept after small GOPs`);
  a.release();
  assert.equal(a.capacity, 0);
});
