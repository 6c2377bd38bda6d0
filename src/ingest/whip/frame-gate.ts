/**
 * Holds a video track's RTP packets until their frame is whole: a frame's
 * packets share one RTP timestamp and its last one carries the marker bit
 * (H.264, VP8 and VP9 alike). A publisher that vanishes mid-frame (a killed
 * browser, a dropped network) leaves that frame without its end; forwarded,
 * it would be recorded as a damaged last frame that every decoder complains
 * about. So `drop()` at the end of the session discards what is held.
 *
 * Late packets are not held: a retransmission (NACK) of an earlier frame, or a
 * packet of the held frame arriving after a newer frame began (its marker was
 * lost; ffmpeg reorders by sequence number), passes at once. Holding costs at
 * most one frame of delay.
 */

/** One packet with the fields the gate looks at. */
export interface GatedPacket {
  timestamp: number;
  marker: boolean;
}

export class FrameGate<P extends GatedPacket> {
  private held: P[] = [];
  private heldTs = 0;

  constructor(private readonly pass: (p: P) => void) {}

  /** Takes a packet: passes it (and the frame it ends) on, or holds it until its frame's marker. */
  add(p: P): void {
    if (this.held.length > 0 && p.timestamp !== this.heldTs) {
      // An older frame's packet (retransmitted) goes through; a newer frame means the held one's marker was lost.
      if (tsBefore(p.timestamp, this.heldTs)) return this.pass(p);
      this.flush();
    }
    if (p.marker) {
      this.flush();
      this.pass(p);
      return;
    }
    if (this.held.length === 0) this.heldTs = p.timestamp;
    this.held.push(p);
  }

  /** Discards the frame that never got its end; answers how many packets that was. */
  drop(): number {
    const n = this.held.length;
    this.held = [];
    return n;
  }

  private flush(): void {
    const held = this.held;
    this.held = [];
    for (const h of held) this.pass(h);
  }
}

/** RTP timestamp `a` is earlier than `b`, across the 32-bit wrap. */
function tsBefore(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** The marker bit of a serialized RTP packet. */
export function rtpMarker(data: Buffer): boolean {
  return data.length >= 2 && (data[1] & 0x80) !== 0;
}
