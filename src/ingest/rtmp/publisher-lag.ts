/**
 * Tells whether a publisher has fallen behind real time because of us: its media
 * time advances slower than the wall clock while data waits in the socket.
 *
 * Why: paced reads (read-pacer.ts) take what the kernel holds once a tick. A socket whose
 * receive buffer stayed small (Linux grows it only for sockets read often) can hold ~90–115 KB,
 * so a tick takes at most that; when load stretches the ticks (300–400 ms at N=64 on 2 cores)
 * that is less than a 3 Mbit/s stream sends, the window closes and the publisher falls behind
 * for good (seen: 1–4 of 64 publishers 15–20 s behind, receive queue pinned at ~89 KB for a
 * minute). Such a connection is read again soon, until it has caught up.
 *
 * The lag is measured against the smallest lag seen (an encoder's own offset is not ours), and
 * re-based whenever a read finds little waiting (then any lag is the publisher's: clock drift,
 * a network stall), so a publisher never stays in the fast lane without a backlog.
 *
 * The other way round, `aheadMs` tells a publisher whose media runs ahead of the clock (a file
 * pushed faster than real time, a backlog draining): it sends as fast as we read, so it has
 * bytes queued (see ACK_AHEAD_MS in rtmp-connection.ts).
 */

/** Lag past the baseline (ms) from which a connection with data waiting is read soon. */
export const BEHIND_MS = 750;
/** A read round that took less than this found no backlog (a 3 Mbit/s tick brings ~60 KB). */
export const LITTLE_WAITING = 16 * 1024;
/** A media timestamp this far behind the previous one starts a new reference (the encoder reset its clock). */
const RESET_MS = 5000;
/** `aheadMs` compares with where the publisher stood between one and two of these ago. */
const AHEAD_SPAN_MS = 1000;

export class PublisherLag {
  private started = false;
  private wall0 = 0;
  private media0 = 0;
  private last = 0;
  private baseline = Infinity;
  /** (wall, media) a span ago (older) and at the start of the current span (newer), for `aheadMs`. */
  private olderWall = 0;
  private olderMedia = 0;
  private newerWall = 0;
  private newerMedia = 0;

  /** A media message with RTMP timestamp `ts` (ms) arrived (read) at `now`. */
  media(ts: number, now: number): void {
    if (!this.started || ts < this.last - RESET_MS) {
      this.started = true;
      this.wall0 = now;
      this.media0 = ts;
      this.baseline = Infinity;
      this.olderWall = this.newerWall = now;
      this.olderMedia = this.newerMedia = ts;
    } else if (now - this.newerWall >= AHEAD_SPAN_MS) {
      this.olderWall = this.newerWall;
      this.olderMedia = this.newerMedia;
      this.newerWall = now;
      this.newerMedia = ts;
    }
    this.last = ts;
  }

  /** After a read round of `bytes`: true when the publisher is behind and its next read should come soon. */
  behind(now: number, bytes: number): boolean {
    if (!this.started) return false;
    const lag = now - this.wall0 - (this.last - this.media0);
    if (bytes < LITTLE_WAITING) {
      this.baseline = lag;
      return false;
    }
    if (lag < this.baseline) this.baseline = lag;
    return lag - this.baseline >= BEHIND_MS;
  }

  /**
   * Milliseconds the publisher's media time ran ahead of the wall clock over the last one to two seconds of media
   * (negative: it came slower than real time). 0 before any media.
   */
  aheadMs(now: number): number {
    if (!this.started) return 0;
    return this.last - this.olderMedia - (now - this.olderWall);
  }
}
