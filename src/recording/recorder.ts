/**
 * Runs the one ffmpeg process of a recording, started by the spawn helper
 * (process/spawner.ts: no fork of this large process on its event loop), and
 * stops it so that it writes its trailers: first end-of-input, then SIGINT,
 * and SIGKILL only as a last resort (SIGKILL would lose the MP4 index; the
 * live file is fragmented so even that loses at most the last fragment).
 */
import { readFileSync } from 'node:fs';
import { sharedSpawner, type HelperChild, type Spawner } from '../process/spawner.js';
import type { Logger } from '../log/logger.js';
import type { MediaFeed } from '../ingest/types.js';
import type { FfmpegPlan } from './ffmpeg-args.js';

/** The longest a stopped recorder may go on draining the input queued for it before it is told to stop (SIGINT). */
const MAX_DRAIN_MS = 120_000;

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
  /** Where ffmpeg is started from (default: the process's spawn helper). */
  spawner?: Spawner;
}

/** The ffmpeg command line of a plan: globals, the input, then each output's options and target. */
export function recorderArgs(plan: FfmpegPlan): string[] {
  const args = ['-hide_banner', '-loglevel', 'warning', '-nostats', '-y', ...plan.inputOptions, '-i', plan.input];
  for (const o of plan.outputs) args.push(...o.options, o.target);
  return args;
}

export class Recorder {
  /** Resolves once ffmpeg has exited. */
  readonly exited: Promise<RecorderExit>;
  private resolveExit!: (e: RecorderExit) => void;
  private child: HelperChild | null = null;
  private stopRequested = false;
  private done = false;

  constructor(private readonly options: RecorderOptions) {
    this.exited = new Promise((r) => (this.resolveExit = r));
  }

  start(): void {
    const { plan, feed, log, ffmpegPath } = this.options;
    const args = recorderArgs(plan);
    const child = (this.options.spawner ?? sharedSpawner()).spawn(ffmpegPath, args, { stdin: plan.input === 'pipe:0' });
    this.child = child;
    child.spawned.then(
      () => {
        log.debug({ command: `${ffmpegPath} ${args.join(' ')}`, pid: child.pid }, 'ffmpeg started');
        // A feed that fails (cut off, destroyed) ends ffmpeg as a stop would, trailers written.
        feed.attach({ pid: child.pid, stdin: child.stdin, abort: () => child.kill('SIGTERM') });
      },
      () => {},
    );
    void child.exited.then((e) => {
      const tail = e.tail.slice(-5).join(' | ');
      if (e.code === 0) return this.finish({ ok: true, requested: this.stopRequested });
      // ffmpeg answers SIGINT with exit code 255 after writing its trailers: that is a clean stop.
      if (this.stopRequested && (e.code === 255 || e.signal === 'SIGINT')) return this.finish({ ok: true, requested: true });
      const why = e.error ?? (e.signal ? `ffmpeg was killed with signal ${e.signal}` : `ffmpeg exited with code ${e.code}`);
      this.finish({ ok: false, requested: this.stopRequested, error: `${why}: ${tail}` });
    });
  }

  private finish(exit: RecorderExit): void {
    if (this.done) return;
    this.done = true;
    this.options.feed.close();
    this.resolveExit(exit);
  }

  /** PID of the ffmpeg process, while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Ends the recording: end-of-input first; SIGINT once ffmpeg has taken no input for `graceMs` (it has read
   * everything and had `graceMs` to finish, or it stopped reading); SIGKILL `graceMs` after that. A recorder
   * running behind its stream (a loaded machine) drains what is queued for it however long that takes, as long
   * as it keeps reading (up to MAX_DRAIN_MS): a fixed grace would cut off the end of its recording.
   * Resolves with how ffmpeg exited.
   */
  async stop(graceMs = 4000): Promise<RecorderExit> {
    if (this.done) return this.exited;
    this.stopRequested = true;
    this.options.feed.end();
    const started = Date.now();
    let queued = this.queuedInput();
    let io = this.ioBytes();
    let lastProgress = started;
    let killTimer: NodeJS.Timeout | undefined;
    const watch = setInterval(() => {
      const now = Date.now();
      const q = this.queuedInput();
      const b = this.ioBytes();
      if (q < queued || b > io) lastProgress = now;
      queued = q;
      io = b;
      if (now - lastProgress < graceMs && now - started < MAX_DRAIN_MS) return;
      clearInterval(watch);
      if (q > 0) this.options.log.warn({ queuedBytes: q, waitedMs: now - started }, 'ffmpeg stopped reading its input');
      this.signal('SIGINT');
      killTimer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    }, Math.max(10, Math.min(500, graceMs / 4)));
    try {
      return await this.exited;
    } finally {
      clearInterval(watch);
      clearTimeout(killTimer);
    }
  }

  /**
   * Bytes ffmpeg has read and written so far (`rchar` + `wchar` of /proc/<pid>/io), or -1 where that cannot be
   * read: it works through its input as long as this grows. Neither alone would do: a large write to its stdin is
   * in flight as a whole until ffmpeg has read all of it (the queue shows no progress meanwhile), and ffmpeg
   * reads seconds of input ahead at its start (probing) and then only writes for a while.
   */
  private ioBytes(): number {
    const pid = this.child?.pid;
    if (pid === undefined) return -1;
    try {
      const io = readFileSync(`/proc/${pid}/io`, 'latin1');
      const r = /^rchar: (\d+)$/m.exec(io);
      const w = /^wchar: (\d+)$/m.exec(io);
      return r && w ? Number(r[1]) + Number(w[1]) : -1;
    } catch {
      return -1;
    }
  }

  /** Input bytes not yet handed to ffmpeg (an FLV feed's buffer and ffmpeg's stdin's). */
  private queuedInput(): number {
    return this.options.feed.queuedBytes();
  }

  private signal(sig: NodeJS.Signals): void {
    if (this.done) return;
    this.options.log.warn({ signal: sig }, 'signalling ffmpeg');
    this.child?.kill(sig);
  }
}
