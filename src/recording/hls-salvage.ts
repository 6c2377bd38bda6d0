/**
 * What an ffmpeg that did not finish its HLS output left past the playlist:
 * the segment it was writing (`<name>.ts.tmp`, the temp_file flag) and any
 * segment renamed into place before the playlist was rewritten. MPEG-TS is
 * playable up to any packet boundary, so these are kept — cut to whole
 * 188-byte packets, probed for their duration and appended to the playlist —
 * instead of losing the last seconds that the MP4 has.
 */
import { existsSync, readdirSync, renameSync, rmSync, statSync, truncateSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log/logger.js';
import { errorMessage } from '../errors.js';
import { probe } from './probe.js';
import type { PlaylistEntry } from './hls-playlist.js';
import { escapeRe } from './paths.js';

const TS_PACKET = 188;

/**
 * Segments after `lastListed` (the highest number the playlist lists, -1 for
 * none), contiguous from it, made final and described. Segments that hold
 * nothing playable are removed.
 */
export async function salvageSegments(streamsDir: string, segmentPrefix: string, lastListed: number, opts: { ffprobePath: string; log: Logger }): Promise<PlaylistEntry[]> {
  const re = new RegExp(`^${escapeRe(segmentPrefix)}(\\d{5})\\.ts(\\.tmp)?$`);
  const found = new Map<number, string[]>();
  for (const n of readdirSync(streamsDir)) {
    const m = re.exec(n);
    if (!m || Number(m[1]) <= lastListed) continue;
    found.set(Number(m[1]), [...(found.get(Number(m[1])) ?? []), n]);
  }
  const out: PlaylistEntry[] = [];
  let next = lastListed + 1;
  for (; found.has(next); next++) {
    const name = `${segmentPrefix}${String(next).padStart(5, '0')}.ts`;
    const file = path.join(streamsDir, name);
    const tmp = `${file}.tmp`;
    if (!existsSync(file)) {
      truncateSync(tmp, Math.floor(statSync(tmp).size / TS_PACKET) * TS_PACKET);
      renameSync(tmp, file);
    }
    rmSync(tmp, { force: true });
    const duration = await probe(opts.ffprobePath, file).then(
      (r) => r.durationSeconds,
      (err) => (opts.log.warn({ err: errorMessage(err), file }, 'an unlisted hls segment could not be read'), 0),
    );
    if (!(duration > 0)) {
      rmSync(file, { force: true });
      break;
    }
    out.push({ name, duration });
  }
  // Whatever lies past a gap or an unreadable segment cannot be played in order.
  const kept = lastListed + out.length;
  for (const [n, names] of found) if (n > kept) for (const x of names) rmSync(path.join(streamsDir, x), { force: true });
  if (out.length) opts.log.info({ segments: out.map((e) => e.name), seconds: Math.round(out.reduce((s, e) => s + e.duration, 0) * 1000) / 1000 }, 'hls segments the playlist did not list were kept');
  return out;
}
