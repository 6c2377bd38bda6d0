/**
 * Splits an FLV byte stream (ffmpeg's `-f flv` output) into tags: the header,
 * then for each tag its type, 32-bit timestamp and payload, exactly what an
 * RTMP publisher's media messages are. Pulled sources feed them into the same
 * FlvFeed an RTMP publisher fills.
 */
export class FlvReader {
  private buf: Buffer = Buffer.alloc(0);
  private headerDone = false;

  constructor(private readonly onTag: (type: number, dts: number, data: Buffer) => void) {}

  /** Takes the next bytes; throws on a stream that is not FLV. */
  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let off = 0;
    if (!this.headerDone) {
      if (this.buf.length < 13) return;
      if (this.buf.toString('latin1', 0, 3) !== 'FLV') throw new Error('not an FLV stream');
      off = this.buf.readUInt32BE(5) + 4; // header, then PreviousTagSize0
      this.headerDone = true;
    }
    while (this.buf.length - off >= 11) {
      const type = this.buf[off] & 0x1f;
      const size = this.buf.readUIntBE(off + 1, 3);
      if (this.buf.length - off < 11 + size + 4) break;
      const dts = (this.buf.readUIntBE(off + 4, 3) | (this.buf[off + 7] << 24)) >>> 0;
      // A copy: the feed keeps payloads (cache, readers) and the chunk's memory is reused by nobody else, but
      // a small tag would otherwise pin a whole 64 KiB read buffer.
      this.onTag(type, dts, Buffer.from(this.buf.subarray(off + 11, off + 11 + size)));
      off += 11 + size + 4;
    }
    this.buf = off >= this.buf.length ? Buffer.alloc(0) : this.buf.subarray(off);
  }
}
