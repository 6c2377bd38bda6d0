/**
 * Recording names: `<streamId>_<UTC start as yyyymmddThhmmssZ>`, with `-2`,
 * `-3` … appended when that name is taken, so a recording never overwrites another.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

/** `20261122T185003Z` for a date. */
export function utcStamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

/**
 * A name for a new recording that no file in `dirs` starts with and `taken`
 * does not hold (names of recordings still in progress).
 */
export function uniqueRecordingName(streamId: string, startedAt: Date, dirs: string[], taken: (name: string) => boolean): string {
  const base = `${streamId}_${utcStamp(startedAt)}`;
  for (let n = 1; ; n++) {
    const name = n === 1 ? base : `${base}-${n}`;
    if (taken(name)) continue;
    const clash = dirs.some((d) => ['.mp4', '.webm', '.m3u8'].some((ext) => existsSync(path.join(d, name + ext))));
    if (!clash) return name;
  }
}

/** How long a new recording waits for the store to reserve its name before it takes a node-id name. */
export const RESERVE_TIMEOUT_MS = 2000;

/**
 * A name reserved in the store (shared by every node on PostgreSQL): the
 * first of `<base>`, `<base>-2`, `<base>-3` … that is free here and that the
 * store reserves. When the store does not answer within `timeoutMs` (database
 * lost) the recording is not held up: it takes `<base>-<nodeId>`, which no
 * other node can pick.
 */
export async function reserveRecordingName(o: {
  app: string;
  streamId: string;
  startedAt: Date;
  dirs: string[];
  taken: (name: string) => boolean;
  reserve: (app: string, name: string) => Promise<boolean>;
  nodeId: string;
  timeoutMs?: number;
  onFallback?: (err: string) => void;
}): Promise<string> {
  const base = `${o.streamId}_${utcStamp(o.startedAt)}`;
  const free = (name: string) => !o.taken(name) && !o.dirs.some((d) => ['.mp4', '.webm', '.m3u8'].some((ext) => existsSync(path.join(d, name + ext))));
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the store did not answer within ${o.timeoutMs ?? RESERVE_TIMEOUT_MS} ms`)), o.timeoutMs ?? RESERVE_TIMEOUT_MS);
  });
  const pick = async () => {
    for (let n = 1; n < 10_000; n++) {
      const name = n === 1 ? base : `${base}-${n}`;
      if (free(name) && (await o.reserve(o.app, name))) return name;
    }
    throw new Error('no free recording name');
  };
  try {
    return await Promise.race([pick(), deadline]);
  } catch (err) {
    o.onFallback?.(err instanceof Error ? err.message : String(err));
    const fallback = `${base}-${o.nodeId.replace(/[^\w.-]/g, '')}`;
    for (let n = 1; ; n++) {
      const name = n === 1 ? fallback : `${fallback}-${n}`;
      if (free(name)) return name;
    }
  } finally {
    clearTimeout(timer);
  }
}
