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
