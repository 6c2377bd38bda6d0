/**
 * Closing a recording's HLS playlist: ffmpeg writes an EVENT playlist while
 * live; the finished recording gets a VOD playlist ending in `#EXT-X-ENDLIST`.
 * After a crash the playlist lacks the end tag and half-written segments are
 * left as `.tmp` files (ffmpeg renames a segment into place when complete).
 */
import { readFileSync, writeFileSync, renameSync } from 'node:fs';

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

/**
 * Rewrites the playlist as VOD with an end tag, keeping only segments that
 * exist. Returns the segment names it lists, or null when it lists none.
 */
export function closePlaylist(file: string, segmentExists: (name: string) => boolean): string[] | null {
  const text = readFileSync(file, 'utf8');
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
  if (segments.length === 0) return null;
  if (!out.some((l) => l.startsWith('#EXT-X-PLAYLIST-TYPE'))) out.splice(1, 0, '#EXT-X-PLAYLIST-TYPE:VOD');
  out.push('#EXT-X-ENDLIST', '');
  const tmp = `${file}.closing`;
  writeFileSync(tmp, out.join('\n'));
  renameSync(tmp, file);
  return segments;
}
