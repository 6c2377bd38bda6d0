/**
 * When a publisher gets its RTMP Acknowledgements.
 *
 * An Acknowledgement the publisher is owed goes at once only while the publisher has been calm for CALM_MS: not
 * held by the feed, not behind real time waiting for our reads, and its media not ACK_AHEAD_MS ahead of the clock
 * (it sends as fast as we read). Any of these means it may have bytes queued that it cannot send yet, and so may
 * still have them a while after: our reads measure only what we took, and a recorder that drains slowly (holds
 * coming and going while a finishing push waits) can make a backlog look like real time for a second or two.
 * Otherwise the Ack waits until the publisher has sent nothing for ACK_QUIET_MS. Why: a publisher that pushed a file faster
 * than real time closes its socket as soon as its last write is in its kernel's send buffer, with up to megabytes
 * still queued; anything we send it after that close makes its kernel answer with a reset and throw the queue away
 * (seen: 1–3 s lost at the end of a held push; TcpExtTCPAbortOnData counts them). ffmpeg, OBS and GStreamer do not
 * wait for Acks; a client that does stops sending, goes quiet and gets its Ack then.
 */
import type { PublisherLag } from './publisher-lag.js';

const ACK_AHEAD_MS = 500;
const ACK_QUIET_MS = 500;
/** How long a publisher must have been read at real time, unheld, before its Acks go at once again. */
export const CALM_MS = 5000;

export interface AckTimingOptions {
  /** The publisher's timing against the clock (`aheadMs`). */
  lag: PublisherLag;
  /** Sends an Acknowledgement of `bytes` received so far. */
  send(bytes: number): void;
  /** The feed holds the publisher back (the silence is ours). */
  held(): boolean;
  /** Held since the last paced read, or that read found the publisher behind real time. */
  backlogged(): boolean;
}

export class AckTiming {
  /** The client's window: how many bytes it sends before it wants an Acknowledgement. */
  window: number;
  private bytes = 0;
  private acked = 0;
  /** While an Ack waits: when the publisher's bytes last came, and the timer that sends it once they stop. */
  private lastBytesAt = 0;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  /** The last time the publisher was held, backlogged or ahead of the clock (never: calm from the start). */
  private unsettledAt = -Infinity;

  constructor(
    private readonly options: AckTimingOptions,
    window: number,
  ) {
    this.window = window;
  }

  /** The publisher has sent `total` bytes so far: an Ack is sent, or waits (see the top of the file). */
  received(total: number): void {
    this.bytes = total;
    if (this.stopped) return;
    const now = Date.now();
    const { held, backlogged, lag } = this.options;
    if (held() || backlogged() || lag.aheadMs(now) >= ACK_AHEAD_MS) this.unsettledAt = now;
    if (total - this.acked < this.window) return;
    this.lastBytesAt = now;
    if (now - this.unsettledAt >= CALM_MS) return this.ack();
    this.timer ??= setTimeout(this.whenQuiet, ACK_QUIET_MS).unref();
  }

  private readonly whenQuiet = (): void => {
    this.timer = undefined;
    if (this.stopped || this.bytes - this.acked < this.window) return;
    const quietMs = Date.now() - this.lastBytesAt;
    // Held: the silence is ours. Bytes still coming: the publisher is not waiting for this Ack.
    if (this.options.held() || quietMs < ACK_QUIET_MS) this.timer = setTimeout(this.whenQuiet, ACK_QUIET_MS - Math.min(quietMs, ACK_QUIET_MS - 50)).unref();
    else this.ack();
  };

  private ack(): void {
    this.acked = this.bytes;
    this.options.send(this.bytes);
  }

  /** The connection is closing: nothing more is sent. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
