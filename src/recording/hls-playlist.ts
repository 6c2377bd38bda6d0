/**
 * Closing a recording's HLS playlist: ffmpeg writes an EVENT playlist while
 * live; the finished recording gets a VOD playlist ending in `#EXT-X-ENDLIST`.
 * After a crash the playlist lacks the end tag and the segment being written
 * is left as a `.tmp` file (ffmpeg renames a segment into place when
 * complete); `hls-salvage.ts` makes it final and it is appended here.
 */
import { existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs';

/** Sum of the segment durations of a playlist's text. */
export function playlistDuration(text: string): number {
  let sum = 0;
  for (const m of text.matchAll(/^#EXTINF:([\d.]+)/gm)) sum += Number(m[1]);
  return Math.round(sum * 1000) / 1000;
}

/** Segment URIs listed in a playlist's text. */
export function playlistSegments(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** A segment to list, with its duration in seconds. */
export interface PlaylistEntry {
  name: string;
  duration: number;
}

/** Highest segment number (`..._00012.ts` → 12) among names, -1 for none. */
export function lastSegmentNumber(names: string[]): number {
  return names.reduce((max, n) => Math.max(max, Number(/(\d{5})\.ts$/.exec(n)?.[1] ?? -1)), -1);
}

/**
 * Rewrites the playlist as VOD with an end tag, keeping only segments that
 * exist, then `appended` ones (written from scratch when ffmpeg never wrote
 * the playlist). Returns the segment names it lists, or null when it lists none.
 */
export function closePlaylist(file: string, segmentExists: (name: string) => boolean, appended: PlaylistEntry[] = []): string[] | null {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:0\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-INDEPENDENT-SEGMENTS\n';
  const out: string[] = [];
  const segments: string[] = [];
  let pending: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line === '#EXT-X-ENDLIST') continue;
    if (line.startsWith('#EXT-X-PLAYLIST-TYPE')) {
      out.push('#EXT-X-PLAYLIST-TYPE:VOD');
    } else if (line.startsWith('#EXTINF') || line.startsWith('#EXT-X-DISCONTINUITY') || line.startsWith('#EXT-X-PROGRAM-DATE-TIME')) {
      pending.push(line);
    } else if (line.startsWith('#')) {
      out.push(line);
    } else {
      if (segmentExists(line)) {
        out.push(...pending, line);
        segments.push(line);
      }
      pending = [];
    }
  }
  for (const e of appended) {
    out.push(`#EXTINF:${e.duration.toFixed(6)},`, e.name);
    segments.push(e.name);
  }
  if (segments.length === 0) return null;
  if (!out.some((l) => l.startsWith('#EXT-X-PLAYLIST-TYPE'))) out.splice(1, 0, '#EXT-X-PLAYLIST-TYPE:VOD');
  // The target duration must cover the longest segment, appended ones included.
  const longest = Math.max(0, ...appended.map((e) => e.duration));
  const target = out.findIndex((l) => l.startsWith('#EXT-X-TARGETDURATION:'));
  if (target >= 0) out[target] = `#EXT-X-TARGETDURATION:${Math.max(Number(out[target].split(':')[1]) || 0, Math.ceil(longest), 1)}`;
  out.push('#EXT-X-ENDLIST', '');
  const tmp = `${file}.closing`;
  writeFileSync(tmp, out.join('\n'));
  renameSync(tmp, file);
  return segments;
}
