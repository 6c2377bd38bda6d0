/**
 * Worker thread of PartReader (part-reader.ts): reads a file part by part
 * with synchronous reads — this thread has nothing else to do, and in-order
 * handling keeps the whole-file hashes in file order — and hashes each part
 * (MD5 for Content-MD5; CRC32 only when the target sends flexible checksums)
 * while updating the object's SHA-256 (and CRC32 with flexible checksums).
 * Every pass over the bytes costs CPU the S3 server next to us may need, so
 * nothing is hashed that is not sent or compared. Plain JavaScript: `--import
 * tsx` does not reach worker threads.
 *
 * Messages in: {op:'open', id, path, crc} | {op:'part', id, seq, offset, length, keep} |
 * {op:'read', id, seq, offset, length} | {op:'close', id, seq} | {op:'drop', id}.
 * Every message with a seq gets one answer {seq, ...} or {seq, error:{code, message}}.
 */
import { parentPort } from 'node:worker_threads';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';

/** Open files by id: descriptor, whole-file hashes and how far they got. */
const files = new Map();
/** Reused for parts only hashed (already uploaded): no allocation per part. */
let scratch = Buffer.alloc(0);

function readAt(fd, buf, offset, length) {
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, offset + got);
    if (n === 0) throw Object.assign(new Error(`the file ended at byte ${offset + got}, ${length - got} bytes early (it changed during the upload)`), { code: 'ESHORT' });
    got += n;
  }
}

function partHashes(buf, withCrc) {
  return { md5: createHash('md5').update(buf).digest('base64'), crc32: withCrc ? crc32(buf) : undefined };
}

function handle(m) {
  if (m.op === 'open') {
    const fd = openSync(m.path, 'r');
    files.set(m.id, { fd, sha: createHash('sha256'), crc: 0, withCrc: !!m.crc, next: 0 });
    return { size: fstatSync(fd).size };
  }
  const f = files.get(m.id);
  if (m.op === 'drop') {
    if (f) closeSync(f.fd);
    files.delete(m.id);
    return undefined;
  }
  if (!f) throw Object.assign(new Error(`no open file ${m.id}`), { code: 'EBADF' });
  if (m.op === 'close') {
    closeSync(f.fd);
    files.delete(m.id);
    return { sha256: f.sha.digest('hex'), crc32: f.withCrc ? f.crc >>> 0 : undefined, size: f.next };
  }
  // 'part' advances the whole-file hashes and must come in file order; 'read' re-reads a part without them.
  if (m.op === 'part' && m.offset !== f.next) throw Object.assign(new Error(`part at ${m.offset} read out of order (expected ${f.next})`), { code: 'EORDER' });
  let buf;
  if (m.keep || m.op === 'read') buf = Buffer.allocUnsafeSlow(m.length);
  else {
    if (scratch.length < m.length) scratch = Buffer.allocUnsafeSlow(m.length);
    buf = scratch.subarray(0, m.length);
  }
  readAt(f.fd, buf, m.offset, m.length);
  if (m.op === 'part') {
    f.sha.update(buf);
    if (f.withCrc) f.crc = crc32(buf, f.crc);
    f.next += m.length;
  }
  const out = partHashes(buf, f.withCrc);
  if (m.keep || m.op === 'read') return { ...out, data: buf.buffer, transfer: [buf.buffer] };
  return out;
}

parentPort.on('message', (m) => {
  try {
    const r = handle(m);
    if (m.seq === undefined) return;
    if (r?.transfer) {
      const { transfer, ...rest } = r;
      parentPort.postMessage({ seq: m.seq, ...rest }, transfer);
    } else parentPort.postMessage({ seq: m.seq, ...r });
  } catch (err) {
    if (m.seq !== undefined) parentPort.postMessage({ seq: m.seq, error: { code: err.code, message: err.message } });
  }
});
