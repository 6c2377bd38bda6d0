/** Average bitrate over a sliding window of whole seconds, cheap enough for every packet. */
export class BitrateMeter {
  private readonly buckets: number[];
  private bucketSecond = 0;
  private total = 0;

  constructor(private readonly windowSeconds = 5) {
    this.buckets = new Array<number>(windowSeconds).fill(0);
  }

  /** Counts bytes received now. */
  add(bytes: number, now = Date.now()): void {
    this.roll(now);
    this.buckets[this.bucketSecond % this.windowSeconds] += bytes;
    this.total += bytes;
  }

  /** Bytes counted since creation. */
  get bytes(): number {
    return this.total;
  }

  /** Bits per second over the window. */
  bitsPerSecond(now = Date.now()): number {
    this.roll(now);
    const sum = this.buckets.reduce((a, b) => a + b, 0);
    return Math.round((sum * 8) / this.windowSeconds);
  }

  private roll(now: number): void {
    const second = Math.floor(now / 1000);
    if (this.bucketSecond === 0) this.bucketSecond = second;
    const gap = Math.min(second - this.bucketSecond, this.windowSeconds);
    for (let i = 1; i <= gap; i++) this.buckets[(this.bucketSecond + i) % this.windowSeconds] = 0;
    if (second > this.bucketSecond) this.bucketSecond = second;
  }
}
