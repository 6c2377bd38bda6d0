/**
 * Reassembles RTMP messages from the chunk stream of one connection.
 *
 * Design note: every chunk starts with a basic header (format 0-3, chunk
 * stream id in 1, 2 or 3 bytes) and a message header of 11, 7, 3 or 0 bytes
 * (formats 1-3 inherit the rest from the chunk stream's previous header), then
 * an extended timestamp when the 24-bit field is 0xffffff. A message that
 * arrives whole inside one socket read (the usual case with the large chunk
 * sizes encoders set) is handed on as a slice of that read, without a copy;
 * only a message spread over several reads or chunks is assembled into its own
 * buffer. What a hostile client can make the parser hold is bounded: chunk
 * streams in use, and bytes of partly received messages (a limit the
 * connection raises once its publish is accepted).
 */

/** A violation of the RTMP chunk protocol or of a limit; the connection is closed. */
export class RtmpProtocolError extends Error {
  readonly code = 'rtmp_protocol';
}

/** Receives each complete message. `payload` is never reused by the parser: it may be kept. */
export type MessageHandler = (type: number, streamId: number, timestamp: number, payload: Buffer) => void;

export interface ChunkParserOptions {
  /** Chunk streams a client may open. */
  maxChunkStreams: number;
  /** Bytes of partly received messages the connection may hold at this moment. */
  maxBuffered(): number;
  onMessage: MessageHandler;
}

interface ChunkStream {
  /** Timestamp of the current (or last) message. */
  timestamp: number;
  /** The last timestamp field: absolute after format 0, a delta after formats 1 and 2. */
  field: number;
  /** Whether the last header carried an extended timestamp (format 3 chunks then repeat it). */
  extended: boolean;
  length: number;
  type: number;
  streamId: number;
  /** Assembly buffer of a message spread over several reads or chunks. */
  buf: Buffer | null;
  /** Payload bytes of the current message received so far. */
  got: number;
}

const HEADER_SIZE = [11, 7, 3, 0];
/** RTMP's default chunk size until the client sends Set Chunk Size. */
export const DEFAULT_CHUNK_SIZE = 128;

export class ChunkParser {
  private chunkSize = DEFAULT_CHUNK_SIZE;
  private readonly streams = new Map<number, ChunkStream>();
  /** Bytes held in assembly buffers. */
  private held = 0;
  /** An incomplete chunk header left at the end of the last read. */
  private rest: Buffer | null = null;
  /** The chunk stream whose chunk payload is being read, and how much of that chunk is left. */
  private current: ChunkStream | null = null;
  private chunkLeft = 0;
  private stopped = false;

  constructor(private readonly options: ChunkParserOptions) {}

  /** Applies a Set Chunk Size from the client (validated by the caller). */
  setChunkSize(size: number): void {
    this.chunkSize = size;
  }

  /** Drops the partly received message of a chunk stream (Abort Message). */
  abort(csid: number): void {
    const cs = this.streams.get(csid);
    if (!cs || cs.got === 0) return;
    if (this.current === cs) this.current = null;
    this.drop(cs);
  }

  /** Parses one read from the socket; throws `RtmpProtocolError`. */
  push(data: Buffer): void {
    let buf = data;
    if (this.rest) {
      buf = Buffer.concat([this.rest, data]);
      this.rest = null;
    }
    let pos = 0;
    while (pos < buf.length && !this.stopped) {
      const cs = this.current;
      if (!cs) {
        const used = this.header(buf, pos);
        if (used < 0) {
          // A header split across reads: at most 18 bytes, kept for the next read.
          this.rest = Buffer.from(buf.subarray(pos));
          return;
        }
        pos += used;
        continue;
      }
      const n = Math.min(this.chunkLeft, buf.length - pos);
      if (cs.got === 0 && n === cs.length) {
        // The whole message in this read: handed on as a slice.
        pos += n;
        this.current = null;
        this.options.onMessage(cs.type, cs.streamId, cs.timestamp, buf.subarray(pos - n, pos));
        continue;
      }
      if (!cs.buf) this.allocate(cs);
      buf.copy(cs.buf!, cs.got, pos, pos + n);
      cs.got += n;
      pos += n;
      this.chunkLeft -= n;
      if (cs.got === cs.length) {
        const payload = cs.buf!;
        this.drop(cs);
        this.current = null;
        this.options.onMessage(cs.type, cs.streamId, cs.timestamp, payload);
      } else if (this.chunkLeft === 0) {
        this.current = null;
      }
    }
  }

  /** Frees every buffer; the parser takes nothing more. */
  release(): void {
    this.stopped = true;
    this.streams.clear();
    this.held = 0;
    this.rest = null;
    this.current = null;
  }

  private allocate(cs: ChunkStream): void {
    const limit = this.options.maxBuffered();
    if (this.held + cs.length > limit) {
      throw new RtmpProtocolError(`message of ${cs.length} bytes would hold ${this.held + cs.length} bytes of buffers (limit ${limit})`);
    }
    // Unfilled: only the pages the client's bytes are written to become resident.
    cs.buf = Buffer.allocUnsafeSlow(cs.length);
    this.held += cs.length;
  }

  private drop(cs: ChunkStream): void {
    if (cs.buf) this.held -= cs.length;
    cs.buf = null;
    cs.got = 0;
  }

  /** Parses one chunk header at `pos`; returns the bytes it took, or -1 if the read ends inside it. */
  private header(buf: Buffer, pos: number): number {
    const avail = buf.length - pos;
    const fmt = buf[pos] >> 6;
    let csid = buf[pos] & 0x3f;
    let p = pos + 1;
    if (csid === 0) {
      if (avail < 2) return -1;
      csid = 64 + buf[p++];
    } else if (csid === 1) {
      if (avail < 3) return -1;
      csid = 64 + buf[p] + buf[p + 1] * 256;
      p += 2;
    }
    if (buf.length - p < HEADER_SIZE[fmt]) return -1;
    let cs = this.streams.get(csid);
    if (!cs) {
      if (fmt >= 2) throw new RtmpProtocolError(`chunk stream ${csid} starts without a message header`);
      if (this.streams.size >= this.options.maxChunkStreams) throw new RtmpProtocolError(`more than ${this.options.maxChunkStreams} chunk streams`);
      cs = { timestamp: 0, field: 0, extended: false, length: 0, type: 0, streamId: 0, buf: null, got: 0 };
      this.streams.set(csid, cs);
    }
    let field = 0;
    if (fmt <= 2) field = buf.readUIntBE(p, 3);
    const extended = fmt <= 2 ? field === 0xffffff : cs.extended;
    const headerEnd = p + HEADER_SIZE[fmt];
    let end = headerEnd;
    if (extended) {
      if (buf.length - headerEnd < 4) return -1;
      const ext = buf.readUInt32BE(headerEnd);
      // A continuation chunk repeats the extended timestamp; some encoders leave it out, so it is only
      // taken when it matches (otherwise those 4 bytes are payload).
      if (fmt !== 3 || cs.got === 0 || ext === cs.field) {
        end += 4;
        if (fmt <= 2 || cs.got === 0) field = ext;
      }
    }
    if (fmt === 3 && cs.got === 0) field = cs.field;
    if (fmt !== 3 && cs.got > 0) {
      // A new message header in the middle of a message: the partial message is abandoned.
      this.drop(cs);
    }
    if (fmt <= 1) {
      cs.length = buf.readUIntBE(p + 3, 3);
      cs.type = buf[p + 6];
    }
    if (fmt === 0) cs.streamId = buf.readUInt32LE(p + 7);
    if (cs.got === 0) {
      cs.timestamp = fmt === 0 ? field : (cs.timestamp + field) >>> 0;
      cs.field = field;
      cs.extended = extended;
    }
    const used = end - pos;
    if (cs.length === 0) {
      this.options.onMessage(cs.type, cs.streamId, cs.timestamp, Buffer.alloc(0));
      return used;
    }
    this.current = cs;
    this.chunkLeft = Math.min(this.chunkSize, cs.length - cs.got);
    return used;
  }
}
