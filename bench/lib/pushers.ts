/**
 * The publishers: one ffmpeg per stream pushing a pre-encoded file in real time
 * (`-re -stream_loop -1 -c copy`), so they cost little CPU. Each reports its
 * progress on stdout (`-progress pipe:1`), which tells how many seconds of media
 * it actually sent: the "pushed" figure, independent of wall time.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface Pusher {
  streamId: string;
  proc: ChildProcess;
  /** Media seconds sent so far (last progress report). */
  pushedSeconds(): number;
  /** Wall seconds since spawn. */
  wallSeconds(): number;
  /** Resolves when ffmpeg exits, with the tail of its stderr. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** Every pusher spawned and not yet exited, so a crash of the bench can still end them. */
export const livePushers = new Set<ChildProcess>();

/** Starts one pusher of `file` to `url`. */
export function startPusher(streamId: string, url: string, file: string): Pusher {
  const args = ['-hide_banner', '-loglevel', 'error', '-nostats', '-progress', 'pipe:1', '-re', '-stream_loop', '-1', '-i', file, '-c', 'copy', '-f', 'flv', url];
  const proc = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  livePushers.add(proc);
  const spawned = Date.now();
  let outTimeUs = 0;
  let buf = '';
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      // out_time_us is the output timestamp (microseconds); "N/A" before the first packet.
      const m = /^out_time_us=(\d+)/.exec(line);
      if (m) outTimeUs = Math.max(outTimeUs, Number(m[1]));
    }
  });
  let stderr = '';
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    proc.on('exit', (code, signal) => {
      livePushers.delete(proc);
      resolve({ code, signal, stderr: stderr.trim() });
    }),
  );
  return { streamId, proc, pushedSeconds: () => outTimeUs / 1e6, wallSeconds: () => (Date.now() - spawned) / 1000, done };
}

/** Stops pushers the way an encoder leaves (SIGINT: ffmpeg flushes and closes the connection). */
export async function stopPushers(pushers: Pusher[], timeoutMs = 15_000): Promise<void> {
  for (const p of pushers) if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGINT');
  const timer = setTimeout(() => {
    for (const p of pushers) if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL');
  }, timeoutMs);
  await Promise.all(pushers.map((p) => p.done));
  clearTimeout(timer);
}

/** Kills every pusher still running (bench interrupted). */
export function killAllPushers(): void {
  for (const proc of livePushers) {
    try {
      proc.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}
