/**
 * A publisher the server runs itself: one ffmpeg process reads a source (an
 * RTSP camera, an RTMP or HLS stream, SRT, or a file to import) and writes FLV
 * to its stdout; the tags go into the same FlvFeed an RTMP publisher fills, so
 * the recorder, previews, parts, uploads and events cannot tell the difference.
 *
 * Codecs: video and audio are copied (`-c copy`). What FLV cannot carry with
 * this ffmpeg is transcoded, and only that: audio FLV refuses (Opus, G.711 at
 * rates other than 8 kHz, …) becomes AAC here; the recorder turns other non-AAC
 * audio (G.711 at 8 kHz, which FLV carries) into AAC for MP4 as it does for RTMP;
 * H.265, which FLV only carries in ffmpeg ≥ 6.1's enhanced FLV, becomes H.264.
 * The caller learns which by `exit.needs` and starts a new session with it.
 *
 * Backpressure: when the recorder falls behind (an import read faster than real
 * time) the feed pauses ffmpeg's stdout, so ffmpeg blocks on its pipe and reads
 * its input no faster than it is recorded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Protocol } from '../events/types.js';
import type { Logger } from '../log/logger.js';
import { FlvFeed } from '../ingest/rtmp/flv-feed.js';
import type { MediaFeed, PublisherSession, StreamStats } from '../ingest/types.js';
import { FlvReader } from './flv-reader.js';

export interface PullOptions {
  ffmpegPath: string;
  app: string;
  streamId: string;
  protocol: Protocol;
  /** Where the media comes from, as the API may show it (no credentials). */
  remoteAddress: string;
  /** ffmpeg input arguments (`… -i <url>`). */
  input: string[];
  /** Transcode audio to AAC (FLV cannot carry the source's audio). */
  transcodeAudio?: boolean;
  /** Transcode video to H.264 (FLV cannot carry the source's video with this ffmpeg). */
  transcodeVideo?: boolean;
  /** Milliseconds without a byte from ffmpeg, once data flowed, before the session is ended (0: never). */
  stallMs?: number;
  /** ffmpeg's log level (`info` prints the input's duration, which imports read). */
  logLevel?: 'warning' | 'info';
  /** Each stderr line (imports read the duration). */
  onStderr?: (line: string) => void;
  /** Each FLV media tag's timestamp (imports report progress). */
  onTag?: (dts: number) => void;
  log: Logger;
}

/** How the ffmpeg process ended. */
export interface PullExit {
  /** Exit code 0: the source ended (end of file, the far end finished). */
  clean: boolean;
  /** The last lines ffmpeg printed, or why the session was closed. */
  error?: string;
  /** Set when a retry with a transcode would work: FLV cannot carry this track. */
  needs?: 'audio' | 'video';
  /** Bytes of FLV read. */
  bytes: number;
}

export class PullSession implements PublisherSession {
  readonly id = randomUUID();
  readonly app: string;
  readonly streamId: string;
  readonly protocol: Protocol;
  remoteAddress: string;
  startedAt = new Date();
  readonly closed: Promise<string>;
  /** Resolves once ffmpeg exited (or could not start). */
  readonly exited: Promise<PullExit>;
  /** Resolves on the first FLV tag (the far end is sending), or with false when ffmpeg ended first. */
  readonly firstData: Promise<boolean>;
  private resolveClosed!: (reason: string) => void;
  private resolveExit!: (e: PullExit) => void;
  private resolveFirst!: (ok: boolean) => void;
  private readonly feed: FlvFeed;
  private readonly reader: FlvReader;
  private proc: ChildProcess | null = null;
  private closeReason: string | null = null;
  private readonly tail: string[] = [];
  private bytes = 0;
  private lastData = 0;
  private watchdog?: NodeJS.Timeout;
  private done = false;

  constructor(private readonly o: PullOptions) {
    this.app = o.app;
    this.streamId = o.streamId;
    this.protocol = o.protocol;
    this.remoteAddress = o.remoteAddress;
    this.closed = new Promise((r) => (this.resolveClosed = r));
    this.exited = new Promise((r) => (this.resolveExit = r));
    this.firstData = new Promise((r) => (this.resolveFirst = r));
    this.feed = new FlvFeed({ pause: () => this.proc?.stdout?.pause(), resume: () => this.proc?.stdout?.resume() });
    let first = true;
    this.reader = new FlvReader((type, dts, data) => {
      this.feed.push(type, dts, data);
      if (type === 8 || type === 9) {
        o.onTag?.(dts);
        if (first) {
          first = false;
          this.resolveFirst(true);
        }
      }
    });
  }

  /** Starts ffmpeg. */
  start(): void {
    const o = this.o;
    const video = o.transcodeVideo ? ['-c:v', 'libx264', '-preset', 'veryfast', '-g', '60'] : ['-c:v', 'copy'];
    const audio = o.transcodeAudio ? ['-c:a', 'aac', '-b:a', '128k', '-ar', '44100'] : ['-c:a', 'copy'];
    const args = [
      '-hide_banner',
      '-nostdin',
      '-nostats',
      '-loglevel',
      o.logLevel ?? 'warning',
      ...o.input,
      '-map',
      '0:v:0?',
      '-map',
      '0:a:0?',
      ...video,
      ...audio,
      '-f',
      'flv',
      '-flvflags',
      'no_duration_filesize',
      'pipe:1',
    ];
    const proc = spawn(o.ffmpegPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    proc.stdout!.on('data', (chunk: Buffer) => {
      this.bytes += chunk.length;
      this.lastData = Date.now();
      try {
        this.reader.push(chunk);
      } catch (err) {
        this.close(`bad FLV from ffmpeg: ${(err as Error).message}`);
      }
    });
    let partial = '';
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (s: string) => {
      const lines = (partial + s).split(/\r?\n|\r/);
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        o.onStderr?.(line);
        this.tail.push(line);
        if (this.tail.length > 30) this.tail.shift();
      }
    });
    proc.on('error', (err) => this.finish(null, `ffmpeg could not start: ${err.message}`));
    proc.on('close', (code, signal) => this.finish(code, signal ? `ffmpeg ended by ${signal}` : undefined));
    if (o.stallMs) {
      this.watchdog = setInterval(() => {
        // A paused feed (the recorder is behind) is our silence, not the source's.
        if (this.lastData && !proc.stdout!.isPaused() && Date.now() - this.lastData > o.stallMs!) this.close(`no data for ${Math.round(o.stallMs! / 1000)} s`);
      }, 1000);
      this.watchdog.unref();
    }
  }

  private finish(code: number | null, why?: string): void {
    if (this.done) return;
    this.done = true;
    clearInterval(this.watchdog);
    this.feed.end();
    const text = this.tail.join(' | ');
    const needs = /Audio codec \S+ not compatible with flv|FLV does not support sample rate/i.test(text) ? 'audio' : /Video codec \S+ not compatible with flv/i.test(text) ? 'video' : undefined;
    const clean = code === 0 && this.closeReason === null;
    const error = this.closeReason ?? (clean ? undefined : errorText(this.tail, why ?? `ffmpeg exited with code ${code}`));
    this.resolveFirst(false);
    this.resolveExit({ clean, error, needs, bytes: this.bytes });
    this.resolveClosed(this.closeReason ?? (clean ? 'source ended' : `source failed: ${error}`));
  }

  openMedia(): Promise<MediaFeed> {
    return this.feed.media();
  }

  stats(): StreamStats {
    return this.feed.stats();
  }

  /** Stops ffmpeg (SIGTERM, SIGKILL after 3 s); resolves `closed` with `reason`. */
  close(reason: string): void {
    if (this.done) return;
    this.closeReason ??= reason;
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return this.finish(null);
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
    t.unref();
    void this.exited.then(() => clearTimeout(t));
  }

  /** PID of ffmpeg (tests). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }
}

/** The useful part of ffmpeg's last lines, without URLs' credentials. */
function errorText(tail: string[], fallback: string): string {
  const lines = tail.filter((l) => !/^\s*(Stream #|Input #|Output #|Metadata:|Duration:|encoder\s*:|Stream mapping|Press \[q\])/.test(l)).slice(-3);
  const text = lines.length ? lines.join(' | ') : fallback;
  return redact(text).slice(0, 500);
}

/** Removes `user:password@` and secret query parameters from any URL in a text. */
export function redact(text: string): string {
  return text.replace(/(\w+:\/\/)[^/\s:@]*:[^/\s@]*@/g, '$1***:***@').replace(/([?&](?:passphrase|password|pass|token|key|secret|X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|signature|sig)=)[^&\s'"]*/gi, '$1***');
}
