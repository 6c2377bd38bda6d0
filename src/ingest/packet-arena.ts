/**
 * The bytes of a feed's cached packets (the current GOP, or the preroll), kept in a
 * few large blocks that are reused from one GOP to the next.
 *
 * Why: every buffer V8 allocates counts toward its external-memory limit, and
 * crossing that limit starts a full (mark-compact) GC of the whole heap. A cached
 * packet lives for a GOP (seconds), long enough to be promoted to the old
 * generation, where only a full GC frees it; so caching each packet in a buffer
 * of its own made the cache itself the trigger of every full GC (profiled with
 * `--trace-gc` during `bench:ingest --n 16`: one every ~13 s, all of them from
 * cached media). Blocks allocated once and refilled add no new external bytes
 * while the stream goes on.
 *
 * A view returned by `keep` stays valid until the next `reset`: whoever holds
 * one past that must have copied it (the feed writes cached packets to a
 * reader synchronously).
 */

/** Size of one block; a packet larger than this gets a block of its own size. */
const BLOCK = 1024 * 1024;
/** GOPs whose block count the arena remembers when it decides how many blocks to keep. */
const HISTORY = 4;

export class PacketArena {
  private blocks: Buffer[] = [];
  /** The block being filled, and the first free byte in it. */
  private block = 0;
  private off = 0;
  /** Blocks each of the last few GOPs needed (newest last). */
  private readonly used: number[] = [];

  /** Copies `data` into the arena; the answer is a view of that copy, valid until `reset()`. */
  keep(data: Buffer): Buffer {
    const n = data.length;
    let b = this.blocks[this.block];
    if (b !== undefined && this.off + n > b.length && this.off > 0) {
      this.block++;
      this.off = 0;
      b = this.blocks[this.block];
    }
    if (b === undefined || n > b.length) {
      // A block too small for this packet holds no live view (a block is only left for the next one), so it is replaced.
      b = Buffer.allocUnsafeSlow(Math.max(BLOCK, n));
      this.blocks[this.block] = b;
    }
    const view = b.subarray(this.off, this.off + n);
    data.copy(b, this.off);
    this.off += n;
    return view;
  }

  /**
   * Forgets every kept packet (a new GOP starts): the blocks are refilled from the first. Blocks beyond what
   * the last few GOPs needed, plus one spare, are let go (a large preroll is not kept for the whole stream).
   */
  reset(): void {
    const inUse = this.off > 0 ? this.block + 1 : this.block;
    this.used.push(inUse);
    if (this.used.length > HISTORY) this.used.shift();
    const keepBlocks = Math.max(...this.used) + 1;
    if (this.blocks.length > keepBlocks) this.blocks.length = keepBlocks;
    this.block = 0;
    this.off = 0;
  }

  /** Lets every block go (the stream ended). */
  release(): void {
    this.blocks = [];
    this.used.length = 0;
    this.block = 0;
    this.off = 0;
  }

  /** Bytes allocated in blocks now (tests, diagnostics). */
  get capacity(): number {
    let n = 0;
    for (const b of this.blocks) n += b.length;
    return n;
  }
}
