/** Recorded seconds of files, with ffprobe. */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Recorded } from './target.js';

const run = promisify(execFile);

/** Container duration in seconds (0 when ffprobe cannot read the file). */
export async function probeSeconds(file: string): Promise<number> {
  try {
    const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'default=nw=1:nk=1', file]);
    const s = Number(stdout.trim());
    return Number.isFinite(s) ? s : 0;
  } catch {
    return 0;
  }
}

/**
 * Recorded seconds per stream: the files in `dir` whose names `match(streamId)`
 * accepts, probed a few at a time (ffprobe is cheap but N can be large).
 */
export async function recordedIn(dir: string, streamIds: string[], match: (streamId: string) => RegExp): Promise<Map<string, Recorded>> {
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    // no recording at all: every stream reports 0 s
  }
  const out = new Map<string, Recorded>();
  const queue = [...streamIds];
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      const re = match(id);
      const files = names.filter((n) => re.test(n));
      let seconds = 0;
      for (const f of files) seconds += await probeSeconds(path.join(dir, f));
      out.set(id, { seconds, files: files.length });
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return out;
}

/** Escapes a string for use inside a RegExp. */
export function reEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Files under `dir` (recursively) whose names end with `suffix`. */
export function countFiles(dir: string, suffix: string): number {
  let n = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const p = path.join(dir, name);
    if (statSync(p, { throwIfNoEntry: false })?.isDirectory()) n += countFiles(p, suffix);
    else if (name.endsWith(suffix)) n += 1;
  }
  return n;
}
