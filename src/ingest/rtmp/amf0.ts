/**
 * AMF0, the encoding of RTMP commands and stream metadata: a decoder that
 * never reads past its buffer and bounds nesting (hostile clients send
 * anything), and an encoder for the few replies the server sends.
 */

/** An AMF0 value as JavaScript sees it. */
export type Amf0Value = number | boolean | string | null | undefined | Date | Amf0Value[] | { [key: string]: Amf0Value };

/** Malformed AMF0 input. */
export class Amf0Error extends Error {
  readonly code = 'amf0_malformed';
}

const NUMBER = 0x00;
const BOOLEAN = 0x01;
const STRING = 0x02;
const OBJECT = 0x03;
const NULL = 0x05;
const UNDEFINED = 0x06;
const REFERENCE = 0x07;
const ECMA_ARRAY = 0x08;
const OBJECT_END = 0x09;
const STRICT_ARRAY = 0x0a;
const DATE = 0x0b;
const LONG_STRING = 0x0c;
const UNSUPPORTED = 0x0d;
const XML_DOCUMENT = 0x0f;
const TYPED_OBJECT = 0x10;
const SWITCH_TO_AMF3 = 0x11;

/** Nesting deeper than this is refused (no real client nests more than 3). */
const MAX_DEPTH = 16;
/** Entries in one array or object; commands carry a dozen. */
const MAX_ENTRIES = 4096;

/** Reads AMF0 values one after another from a buffer. */
export class Amf0Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  /** Reads the next value; throws `Amf0Error` on malformed input. */
  read(depth = 0): Amf0Value {
    if (depth > MAX_DEPTH) throw new Amf0Error('amf0 nesting too deep');
    const marker = this.byte();
    switch (marker) {
      case NUMBER:
        return this.need(8).readDoubleBE(this.pos - 8);
      case BOOLEAN:
        return this.byte() !== 0;
      case STRING:
        return this.string(this.u16());
      case LONG_STRING:
      case XML_DOCUMENT:
        return this.string(this.u32());
      case OBJECT:
        return this.object(depth);
      case TYPED_OBJECT:
        this.string(this.u16()); // class name: not needed
        return this.object(depth);
      case ECMA_ARRAY:
        this.u32(); // approximate count; the entries end with an object-end marker
        return this.object(depth);
      case STRICT_ARRAY: {
        const n = this.u32();
        if (n > MAX_ENTRIES) throw new Amf0Error(`amf0 array of ${n} entries`);
        const out: Amf0Value[] = [];
        for (let i = 0; i < n; i++) out.push(this.read(depth + 1));
        return out;
      }
      case DATE: {
        const ms = this.need(8).readDoubleBE(this.pos - 8);
        this.u16(); // time zone: unused by the spec
        return new Date(ms);
      }
      case NULL:
      case UNDEFINED:
      case UNSUPPORTED:
        return marker === NULL ? null : undefined;
      case REFERENCE:
        this.u16();
        return undefined;
      case SWITCH_TO_AMF3:
        throw new Amf0Error('amf3 values are not supported');
      default:
        throw new Amf0Error(`unknown amf0 marker ${marker}`);
    }
  }

  private object(depth: number): { [key: string]: Amf0Value } {
    const out: { [key: string]: Amf0Value } = Object.create(null);
    for (let n = 0; ; n++) {
      if (n > MAX_ENTRIES) throw new Amf0Error('amf0 object with too many entries');
      const key = this.string(this.u16());
      if (key === '' && this.buf[this.pos] === OBJECT_END) {
        this.pos++;
        return out;
      }
      out[key] = this.read(depth + 1);
    }
  }

  private need(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw new Amf0Error('truncated amf0 value');
    this.pos += n;
    return this.buf;
  }

  private byte(): number {
    return this.need(1)[this.pos - 1];
  }

  private u16(): number {
    return this.need(2).readUInt16BE(this.pos - 2);
  }

  private u32(): number {
    return this.need(4).readUInt32BE(this.pos - 4);
  }

  private string(len: number): string {
    return this.need(len).toString('utf8', this.pos - len, this.pos);
  }
}

/** Decodes every value in the buffer. */
export function decodeAmf0(buf: Buffer): Amf0Value[] {
  const r = new Amf0Reader(buf);
  const out: Amf0Value[] = [];
  while (!r.done) out.push(r.read());
  return out;
}

/** Encodes values one after another (numbers, booleans, strings, null, plain objects). */
export function encodeAmf0(...values: Amf0Value[]): Buffer {
  const parts: Buffer[] = [];
  for (const v of values) encodeOne(v, parts);
  return Buffer.concat(parts);
}

function encodeOne(v: Amf0Value, parts: Buffer[]): void {
  if (typeof v === 'number') {
    const b = Buffer.allocUnsafe(9);
    b[0] = NUMBER;
    b.writeDoubleBE(v, 1);
    parts.push(b);
  } else if (typeof v === 'boolean') {
    parts.push(Buffer.from([BOOLEAN, v ? 1 : 0]));
  } else if (typeof v === 'string') {
    const s = Buffer.from(v, 'utf8');
    const h = Buffer.allocUnsafe(3);
    h[0] = STRING;
    h.writeUInt16BE(Math.min(s.length, 0xffff), 1);
    parts.push(h, s.subarray(0, 0xffff));
  } else if (v === null) {
    parts.push(Buffer.from([NULL]));
  } else if (v === undefined) {
    parts.push(Buffer.from([UNDEFINED]));
  } else if (typeof v === 'object' && !(v instanceof Date) && !Array.isArray(v)) {
    parts.push(Buffer.from([OBJECT]));
    for (const [k, val] of Object.entries(v)) {
      const key = Buffer.from(k, 'utf8');
      const h = Buffer.allocUnsafe(2);
      h.writeUInt16BE(key.length, 0);
      parts.push(h, key);
      encodeOne(val, parts);
    }
    parts.push(Buffer.from([0, 0, OBJECT_END]));
  } else {
    parts.push(Buffer.from([NULL]));
  }
}
