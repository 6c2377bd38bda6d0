/**
 * WHIP video reaches recorders frame by frame: a frame's packets pass once its
 * marker packet arrives, late packets (retransmissions, a frame whose marker
 * was lost) are not held back, and the frame a vanished publisher never
 * finished is left out instead of being recorded damaged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameGate, rtpMarker } from '../../src/ingest/whip/frame-gate.js';
import { MediaTap, type TapPacket } from '../../src/ingest/whip/media-tap.js';
import type { ChosenTrack } from '../../src/ingest/whip/offer.js';

interface P {
  timestamp: number;
  marker: boolean;
  id: string;
}
const p = (id: string, timestamp: number, marker = false): P => ({ id, timestamp, marker });

test('the gate passes whole frames, lets late packets through and drops the unfinished one', () => {
  const out: string[] = [];
  const gate = new FrameGate<P>((x) => out.push(x.id));
  gate.add(p('a1', 3000));
  gate.add(p('a2', 3000));
  assert.deepEqual(out, [], 'held until the marker');
  gate.add(p('a3', 3000, true));
  assert.deepEqual(out, ['a1', 'a2', 'a3']);
  // b's marker is lost: c's first packet releases b.
  gate.add(p('b1', 6000));
  gate.add(p('c1', 9000));
  assert.deepEqual(out.slice(3), ['b1']);
  // A retransmission of a's packet and b's late marker pass at once; c stays held.
  gate.add(p('a2r', 3000));
  gate.add(p('b2', 6000, true));
  assert.deepEqual(out.slice(4), ['a2r', 'b2']);
  gate.add(p('c2', 9000));
  assert.equal(gate.drop(), 2, 'c1 and c2 never got their marker');
  assert.deepEqual(out.slice(6), []);
  // Across the 32-bit wrap a frame after 0xffffff00 is newer, not older.
  gate.add(p('d1', 0xffffff00));
  gate.add(p('e1', 0x100, true));
  assert.deepEqual(out.slice(6), ['d1', 'e1']);
});

function rtp(seq: number, timestamp: number, marker: boolean, payload: number[]): Buffer {
  const b = Buffer.alloc(12 + payload.length);
  b[0] = 0x80;
  b[1] = (marker ? 0x80 : 0) | 102;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(timestamp, 4);
  b.writeUInt32BE(0x1234, 8);
  Buffer.from(payload).copy(b, 12);
  return b;
}

test('a publisher gone mid-frame: the recorder never gets the unfinished frame', () => {
  const video: ChosenTrack = { kind: 'video', mid: '0', payloadType: 102, codec: 'h264', clockRate: 90000, fmtp: 'packetization-mode=1', pli: true };
  const tap = new MediaTap([video]);
  const got: TapPacket[] = [];
  let ended = false;
  tap.addReader({ rtp: (x) => got.push(x), senderReport: () => {}, end: () => (ended = true) });
  // A keyframe in two FU-A packets (IDR), then a P frame whose second half never comes.
  const idr1 = [0x7c, 0x85, 1, 2, 3];
  const idr2 = [0x7c, 0x45, 4, 5, 6];
  tap.rtp('video', 3000, Buffer.from(idr1), rtp(1, 3000, false, idr1));
  tap.rtp('video', 3000, Buffer.from(idr2), rtp(2, 3000, true, idr2));
  const p1 = [0x5c, 0x81, 7, 8];
  tap.rtp('video', 6000, Buffer.from(p1), rtp(3, 6000, false, p1));
  assert.equal(got.length, 2, 'the keyframe passed, the half frame is held');
  assert.equal(got[0].keyframe, true);
  assert.ok(rtpMarker(got[1].data));
  tap.end();
  assert.ok(ended);
  assert.equal(got.length, 2, 'the half frame is not recorded');
  assert.equal(tap.droppedAtEnd, 1);
});
