/**
 * A VOD HLS playlist of a wall-clock range, built from the recordings' own
 * HLS playlists: each recording's segments are placed in time from its start
 * (the same ffmpeg process writes the MP4 and the HLS, from one clock), those
 * overlapping the range are listed with `#EXT-X-PROGRAM-DATE-TIME`, and a
 * `#EXT-X-DISCONTINUITY` separates two recordings. Segment URIs are the
 * stable `/<app>/streams/<segment>` URLs, served from disk or forwarded to
 * the bucket like any recorded file.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RecordingWithFiles } from '../db/types.js';
import type { ObjectReader } from './types.js';

interface Segment {
  uri: string;
  duration: number;
  /** Epoch ms. */
  start: number;
}

/**
 * Segments of one playlist (`#EXTINF` + URI pairs), placed from `startedAt`.
 * A playlist that kept only its last window (`hlsWindowSeconds`: its media
 * sequence starts past 0) ends where the recording ends, so it is placed from
 * `startedAt + durationSeconds` backwards.
 */
export function placeSegments(text: string, startedAt: number, durationSeconds?: number): Segment[] {
  const out: Segment[] = [];
  let at = startedAt;
  const sequence = Number(/^#EXT-X-MEDIA-SEQUENCE:(\d+)/m.exec(text)?.[1] ?? 0);
  if (sequence > 0 && durationSeconds !== undefined) {
    let listed = 0;
    for (const m of text.matchAll(/^#EXTINF:([\d.]+)/gm)) listed += Number(m[1]);
    at = startedAt + Math.max(0, durationSeconds - listed) * 1000;
  }
  let pending: number | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#EXTINF:')) pending = Number.parseFloat(line.slice(8));
    else if (line && !line.startsWith('#') && pending !== undefined && Number.isFinite(pending)) {
      out.push({ uri: line, duration: pending, start: at });
      at += pending * 1000;
      pending = undefined;
    }
  }
  return out;
}

/** The text of a recording's HLS playlist, from disk or from the bucket; undefined when it has none. */
export async function readPlaylist(r: RecordingWithFiles, reader: ObjectReader): Promise<string | undefined> {
  const f = r.files.find((x) => x.kind === 'hls-playlist');
  if (!f) return undefined;
  if (f.localPath && !f.localDeletedAt && existsSync(f.localPath)) return readFile(f.localPath, 'utf8');
  if (f.state !== 'uploaded' || !f.bucket || !f.key) return undefined;
  const src = await reader.readUrl(r.app, f.bucket, f.key);
  // The filesystem target answers with the object's own path, a bucket with a pre-signed URL.
  if (path.isAbsolute(src)) return existsSync(src) ? readFile(src, 'utf8') : undefined;
  const res = await fetch(src);
  return res.ok ? res.text() : undefined;
}

/** The range's playlist; null when no segment falls in it. */
export function rangePlaylist(app: string, recordings: Array<{ segments: Segment[] }>, from: number, to: number): string | null {
  const enc = encodeURIComponent;
  const lines: string[] = [];
  let longest = 1;
  for (const r of recordings) {
    const inRange = r.segments.filter((s) => s.start < to && s.start + s.duration * 1000 > from);
    if (inRange.length === 0) continue;
    if (lines.length > 0) lines.push('#EXT-X-DISCONTINUITY');
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(inRange[0].start).toISOString()}`);
    for (const s of inRange) {
      longest = Math.max(longest, s.duration);
      lines.push(`#EXTINF:${s.duration.toFixed(6)},`, `/${enc(app)}/streams/${enc(s.uri)}`);
    }
  }
  if (lines.length === 0) return null;
  const head = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-PLAYLIST-TYPE:VOD', `#EXT-X-TARGETDURATION:${Math.ceil(longest)}`, '#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-INDEPENDENT-SEGMENTS'];
  return `${[...head, ...lines, '#EXT-X-ENDLIST'].join('\n')}\n`;
}
