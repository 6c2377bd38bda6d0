/**
 * Runs the one ffmpeg process of a recording (fluent-ffmpeg) and stops it so
 * that it writes its trailers: first end-of-input, then SIGINT, and SIGKILL
 * only as a last resort (fluent-ffmpeg's own `kill()` defaults to SIGKILL, which
 * would lose the MP4 index; the live file is fragmented so even that loses at
 * most the last fragment).
 */
import ffmpeg from 'fluent-ffmpeg';
import type { Logger } from '../log/logger.js';
import type { MediaFeed } from '../ingest/types.js';
import type { FfmpegPlan } from './ffmpeg-args.js';

export interface RecorderExit {
  /** True when ffmpeg exited by itself or on our request, with its outputs closed. */
  ok: boolean;
  /** Why it failed, with the last lines ffmpeg printed. */
  error?: string;
  /** True when the exit was asked for (stop), false when ffmpeg ended on its own. */
  requested: boolean;
}

export interface RecorderOptions {
  /** ffmpeg binary. */
  ffmpegPath: string;
  /** Arguments. */
  plan: FfmpegPlan;
  /** The media. */
  feed: MediaFeed;
  log: Logger;
}

/**
 * fluent-ffmpeg checks the formats and encoders ffmpeg offers before each run (`ffmpeg -formats`, `ffmpeg -encoders`)
 * and keeps the answers for the process once one has come back. Publishers that arrive together (a start with many
 * encoders waiting, a network blip that dropped them all) all missed that cache: 64 at once spawned 128 more ffmpegs
 * and their recordings took 46 s to start on a 2-core machine. Asked once at startup, every recorder finds the answers.
 * A failure is left to the first recorder to report.
 */
export async function warmRecorderChecks(ffmpegPath: string): Promise<void> {
  const cmd = ffmpeg().setFfmpegPath(ffmpegPath);
  await new Promise<void>((resolve) => cmd.availableFormats(() => resolve()));
  await new Promise<void>((resolve) => cmd.availableEncoders(() => resolve()));
}

export class Recorder {
  /** Resolves once ffmpeg has exited. */
  readonly exited: Promise<RecorderExit>;
  private resolveExit!: (e: RecorderExit) => void;
  private command: ffmpeg.FfmpegCommand | null = null;
  private stopRequested = false;
  private done = false;

  constructor(private readonly options: RecorderOptions) {
    this.exited = new Promise((r) => (this.resolveExit = r));
  }

  start(): void {
    const { plan, feed, log, ffmpegPath } = this.options;
    const cmd = ffmpeg({ stdoutLines: 0 }).setFfmpegPath(ffmpegPath);
    if (feed.format === 'flv') cmd.input(feed.stream);
    else cmd.input(plan.input);
    cmd.inputOptions(plan.inputOptions);
    for (const o of plan.outputs) cmd.output(o.target).outputOptions(o.options);
    cmd.addOption('-hide_banner').addOption('-loglevel', 'warning').addOption('-nostats');
    const tail: string[] = [];
    cmd.on('start', (line: string) => {
      log.debug({ command: line }, 'ffmpeg started');
      // RTP is forwarded once this very process listens on the SDP's ports.
      if (feed.format === 'sdp') feed.start(this.pid);
    });
    cmd.on('stderr', (line: string) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
    });
    cmd.on('end', () => this.finish({ ok: true, requested: this.stopRequested }));
    cmd.on('error', (err: Error) => {
      // ffmpeg answers SIGINT with exit code 255 after writing its trailers: that is a clean stop.
      const interrupted = this.stopRequested && /code 255|signal SIGINT/.test(err.message);
      this.finish(interrupted ? { ok: true, requested: true } : { ok: false, requested: this.stopRequested, error: `${err.message}: ${tail.slice(-5).join(' | ')}` });
    });
    cmd.run();
    this.command = cmd;
  }

  private finish(exit: RecorderExit): void {
    if (this.done) return;
    this.done = true;
    if (this.options.feed.format === 'sdp') this.options.feed.close();
    this.resolveExit(exit);
  }

  /** PID of the ffmpeg process, while it runs. */
  get pid(): number | undefined {
    return (this.command as unknown as { ffmpegProc?: { pid?: number } } | null)?.ffmpegProc?.pid;
  }

  /**
   * Ends the recording: end-of-input first, SIGINT after `graceMs`, SIGKILL
   * after twice that. Resolves with how ffmpeg exited.
   */
  async stop(graceMs = 4000): Promise<RecorderExit> {
    if (this.done) return this.exited;
    this.stopRequested = true;
    const { feed } = this.options;
    if (feed.format === 'flv') {
      if (!feed.stream.destroyed) (feed.stream as NodeJS.ReadableStream & { end?: () => void }).end?.();
    } else {
      // RTP input never ends by itself: the feed sends RTCP BYE, which ffmpeg takes as end of input.
      feed.end();
    }
    const timers: NodeJS.Timeout[] = [];
    timers.push(setTimeout(() => this.signal('SIGINT'), graceMs));
    timers.push(setTimeout(() => this.signal('SIGKILL'), graceMs * 2));
    try {
      return await this.exited;
    } finally {
      for (const t of timers) clearTimeout(t);
    }
  }

  private signal(sig: NodeJS.Signals): void {
    if (this.done) return;
    this.options.log.warn({ signal: sig }, 'signalling ffmpeg');
    this.command?.kill(sig);
  }
}
