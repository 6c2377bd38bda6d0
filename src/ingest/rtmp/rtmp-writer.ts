/**
 * What the server sends on an RTMP connection: protocol control messages and
 * AMF0 command replies, chunked at the server's outgoing chunk size.
 */
import { encodeAmf0, type Amf0Value } from './amf0.js';

/** The chunk size the server announces and sends with (every reply fits one chunk). */
export const OUT_CHUNK_SIZE = 4096;

export const MSG = {
  SET_CHUNK_SIZE: 1,
  ABORT: 2,
  ACK: 3,
  USER_CONTROL: 4,
  WINDOW_ACK_SIZE: 5,
  SET_PEER_BANDWIDTH: 6,
  AUDIO: 8,
  VIDEO: 9,
  DATA_AMF3: 15,
  COMMAND_AMF3: 17,
  DATA_AMF0: 18,
  COMMAND_AMF0: 20,
  AGGREGATE: 22,
} as const;

const CSID_CONTROL = 2;
const CSID_COMMAND = 3;

/** One message as chunks: a format 0 chunk, then format 3 continuations. */
export function chunked(csid: number, type: number, streamId: number, payload: Buffer): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.allocUnsafe(12);
  head[0] = csid; // csid < 64: one-byte basic header, format 0
  head.writeUIntBE(0, 1, 3);
  head.writeUIntBE(payload.length, 4, 3);
  head[7] = type;
  head.writeUInt32LE(streamId, 8);
  parts.push(head);
  for (let off = 0; off < payload.length; off += OUT_CHUNK_SIZE) {
    if (off > 0) parts.push(Buffer.from([0xc0 | csid]));
    parts.push(payload.subarray(off, off + OUT_CHUNK_SIZE));
  }
  return Buffer.concat(parts);
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

export function setChunkSize(size: number): Buffer {
  return chunked(CSID_CONTROL, MSG.SET_CHUNK_SIZE, 0, u32(size));
}

export function windowAckSize(size: number): Buffer {
  return chunked(CSID_CONTROL, MSG.WINDOW_ACK_SIZE, 0, u32(size));
}

/** Set Peer Bandwidth, limit type 2 (dynamic). */
export function setPeerBandwidth(size: number): Buffer {
  return chunked(CSID_CONTROL, MSG.SET_PEER_BANDWIDTH, 0, Buffer.concat([u32(size), Buffer.from([2])]));
}

export function ack(bytesReceived: number): Buffer {
  return chunked(CSID_CONTROL, MSG.ACK, 0, u32(bytesReceived));
}

/** User Control Stream Begin for a message stream. */
export function streamBegin(streamId: number): Buffer {
  return chunked(CSID_CONTROL, MSG.USER_CONTROL, 0, Buffer.concat([Buffer.from([0, 0]), u32(streamId)]));
}

/** An AMF0 command (`_result`, `onStatus`, …) on a message stream. */
export function command(streamId: number, ...values: Amf0Value[]): Buffer {
  return chunked(CSID_COMMAND, MSG.COMMAND_AMF0, streamId, encodeAmf0(...values));
}

/** `onStatus` with a level, a code and a description. */
export function onStatus(streamId: number, level: 'status' | 'error', code: string, description: string): Buffer {
  return command(streamId, 'onStatus', 0, null, { level, code, description });
}
