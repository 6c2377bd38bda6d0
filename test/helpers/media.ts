/** Publishing with the real ffmpeg CLI, and checking results with ffprobe. */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, existsSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Push {
  proc: ChildProcess;
  /** Resolves when ffmpeg exits. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  /** Seconds since the push started. */
  elapsed(): number;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Pushes a file in real time (`-re`, copied) to an RTMP URL. */
export function push(url: string, file: string, opts: { seconds?: number; loop?: boolean } = {}): Push {
  const args = ['-hide_banner', '-loglevel', 'error', '-re'];
  if (opts.loop) args.push('-stream_loop', '-1');
  args.push('-i', file);
  if (opts.seconds) args.push('-t', String(opts.seconds));
  args.push('-c', 'copy', '-f', 'flv', url);
  const proc = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const started = Date.now();
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  return {
    proc,
    done,
    elapsed: () => (Date.now() - started) / 1000,
    async stop(signal: NodeJS.Signals = 'SIGINT') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await done;
    },
  };
}

export interface Probed {
  duration: number;
  formatName: string;
  streams: Array<{ codec_type: string; codec_name: string; width?: number; height?: number; duration?: string }>;
}

export async function ffprobe(file: string): Promise<Probed> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file]);
  const j = JSON.parse(stdout) as { format: { duration: string; format_name: string }; streams: Probed['streams'] };
  return { duration: Number(j.format.duration), formatName: j.format.format_name, streams: j.streams };
}

/** Decodes the whole file; resolves true when ffmpeg reports no error. */
export async function decodesCleanly(file: string): Promise<boolean> {
  try {
    const { stderr } = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-'], { maxBuffer: 16 * 1024 * 1024 });
    return stderr.trim() === '';
  } catch {
    return false;
  }
}

/** Top-level MP4 box types in file order. */
export function topLevelBoxes(file: string): string[] {
  const fd = openSync(file, 'r');
  const size = statSync(file).size;
  const out: string[] = [];
  const head = Buffer.alloc(16);
  try {
    let off = 0;
    while (off + 8 <= size) {
      readSync(fd, head, 0, 16, off);
      let len = head.readUInt32BE(0);
      const type = head.toString('latin1', 4, 8);
      if (len === 1) len = Number(head.readBigUInt64BE(8));
      if (len === 0) len = size - off;
      if (len < 8) break;
      out.push(type);
      off += len;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/**
 * An ffmpeg that notes the pid of every recorder it starts (the one reading the live FLV from its stdin), for a
 * server's `server.ffmpegPath`: `recorderPids()` lists them in start order. `dir` holds the script and the list.
 */
export function recorderPidWrapper(dir: string): { path: string; recorderPids(): number[] } {
  const pids = path.join(dir, 'pids');
  const wrapper = path.join(dir, 'ffmpeg');
  writeFileSync(wrapper, `#!/bin/sh\nfor a in "$@"; do [ "$a" = "pipe:0" ] && echo $$ >> '${pids}'; done\nexec ffmpeg "$@"\n`);
  chmodSync(wrapper, 0o755);
  return {
    path: wrapper,
    recorderPids: () => (existsSync(pids) ? readFileSync(pids, 'utf8').split('\n').filter(Boolean).map(Number) : []),
  };
}
