/**
 * Reads files for uploads in one worker thread (part-reader-worker.mjs), so
 * hashing never holds the event loop: each part comes back as a buffer (moved,
 * not copied) with its MD5 (and CRC32 when asked for), while the worker keeps
 * the object's SHA-256 going — one read of the file for the hashes and the
 * upload. The worker starts on first use and is ended by `close()`.
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';

/** One part as read: its bytes (absent when only hashed) and checksums. */
export interface ReadPart {
  data?: Buffer;
  /** Base64 MD5 (the Content-MD5 header). */
  md5: string;
  /** When the file was opened with `crc`. */
  crc32?: number;
}

/** The object's checksums, known once every part was read. */
export interface WholeDigest {
  size: number;
  sha256: string;
  /** When the file was opened with `crc`. */
  crc32?: number;
}

type Pending = { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void };

const WORKER_URL = new URL('./part-reader-worker.mjs', import.meta.url);

export class PartReader {
  private worker?: Worker;
  private seq = 0;
  private ids = 0;
  private readonly pending = new Map<number, Pending>();

  /** Opens a file; parts must then be read with `part` in file order. `crc`: CRC32s too (flexible checksums). */
  async open(path: string, opts: { crc?: boolean } = {}): Promise<OpenFile> {
    const id = ++this.ids;
    const { size } = (await this.call({ op: 'open', id, path, crc: !!opts.crc })) as { size: number };
    return new OpenFile(this, id, size, path, !!opts.crc);
  }

  /** Ends the worker (uploads in flight fail). */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }

  /** @internal */
  call(msg: Record<string, unknown>): Promise<Record<string, unknown>> {
    const w = this.ensure();
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      w.postMessage({ ...msg, seq });
    });
  }

  /** @internal */
  post(msg: Record<string, unknown>): void {
    this.worker?.postMessage(msg);
  }

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(fileURLToPath(WORKER_URL));
    // An idle reader must not keep the process alive.
    w.unref();
    w.on('message', (m: { seq: number; error?: { code?: string; message: string } }) => {
      const p = this.pending.get(m.seq);
      if (!p) return;
      this.pending.delete(m.seq);
      if (m.error) p.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
      else p.resolve(m as unknown as Record<string, unknown>);
    });
    const failAll = (err: Error) => {
      if (this.worker === w) this.worker = undefined;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    w.on('error', failAll);
    w.on('exit', () => failAll(Object.assign(new Error('the file reader thread stopped'), { code: 'EREADER' })));
    this.worker = w;
    return w;
  }
}

/** A file open in the reader. */
export class OpenFile {
  private closed = false;

  constructor(private readonly reader: PartReader, private readonly id: number, readonly size: number, readonly path: string, private readonly crc: boolean) {}

  /** The same file opened again from its start (a second pass). */
  reopen(): Promise<OpenFile> {
    return this.reader.open(this.path, { crc: this.crc });
  }

  /** The next part (`offset` must follow the previous one): bytes kept when `keep`, else only hashed. */
  async part(offset: number, length: number, keep: boolean): Promise<ReadPart> {
    return toPart(await this.reader.call({ op: 'part', id: this.id, offset, length, keep }));
  }

  /** Any part again, without touching the object's hashes (a recorded part that no longer matches). */
  async reread(offset: number, length: number): Promise<ReadPart> {
    return toPart(await this.reader.call({ op: 'read', id: this.id, offset, length }));
  }

  /** The object's checksums; closes the file. */
  async finish(): Promise<WholeDigest> {
    this.closed = true;
    return (await this.reader.call({ op: 'close', id: this.id })) as unknown as WholeDigest;
  }

  /** Closes the file without a digest (an upload that failed); safe to call twice. */
  drop(): void {
    if (this.closed) return;
    this.closed = true;
    this.reader.post({ op: 'drop', id: this.id });
  }
}

function toPart(m: Record<string, unknown>): ReadPart {
  return {
    data: m.data ? Buffer.from(m.data as ArrayBuffer) : undefined,
    md5: m.md5 as string,
    crc32: m.crc32 as number | undefined,
  };
}
