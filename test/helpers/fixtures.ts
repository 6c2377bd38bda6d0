/**
 * Pre-encoded media for tests, generated once with ffmpeg and cached under
 * test/.cache (keyed by its parameters), so pushes copy instead of encoding.
 */
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const CACHE_DIR = fileURLToPath(new URL('../.cache/', import.meta.url));

export interface FixtureOptions {
  seconds: number;
  width?: number;
  height?: number;
  fps?: number;
  /** Keyframe interval in frames. */
  gop?: number;
  videoKbps?: number;
  audio?: boolean;
  video?: boolean;
}

/** Generations under way in this process, by file: concurrent callers share one (a test's `Promise.all` of pushes). */
const pending = new Map<string, Promise<string>>();

/** Path of an FLV file with H.264 + AAC test content of the given length. */
export async function fixture(o: FixtureOptions): Promise<string> {
  const w = o.width ?? 1280;
  const h = o.height ?? 720;
  const fps = o.fps ?? 30;
  const gop = o.gop ?? fps * 2;
  const kbps = o.videoKbps ?? 3000;
  const audio = o.audio ?? true;
  const video = o.video ?? true;
  const name = `src_${o.seconds}s_${w}x${h}_${fps}fps_g${gop}_${kbps}k_${video ? 'v' : ''}${audio ? 'a' : ''}.flv`;
  mkdirSync(CACHE_DIR, { recursive: true });
  const file = path.join(CACHE_DIR, name);
  if (existsSync(file)) return file;
  const args = ['-hide_banner', '-loglevel', 'error', '-y'];
  if (video) args.push('-f', 'lavfi', '-i', `testsrc2=size=${w}x${h}:rate=${fps}`);
  if (audio) args.push('-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000');
  args.push('-t', String(o.seconds));
  if (video) {
    args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0');
    args.push('-b:v', `${kbps}k`, '-maxrate', `${kbps}k`, '-bufsize', `${kbps * 2}k`, '-pix_fmt', 'yuv420p');
  }
  if (audio) args.push('-c:a', 'aac', '-b:a', '128k', '-ac', '2');
  let p = pending.get(file);
  if (!p) {
    p = encode(file, args).finally(() => pending.delete(file));
    pending.set(file, p);
  }
  return p;
}

/** Runs ffmpeg with `args` into a temp file, then renames it to `file`. */
async function encode(file: string, args: string[]): Promise<string> {
  // Unique per call too: two processes, or a retry after a failed run, never share a temp file.
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await run('ffmpeg', [...args, '-f', 'flv', tmp], { timeout: 300_000 });
  renameSync(tmp, file); // atomic: parallel test files may generate the same fixture
  return file;
}
