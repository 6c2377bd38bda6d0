/**
 * The bucket's HLS playlist of a recording uploaded while live
 * (`hlsLiveUpload`). The local playlist may be a sliding window
 * (`hlsWindowSeconds`: ffmpeg lists the last N segments and deletes older
 * ones), but the bucket keeps every segment, so its playlist must name them
 * all: this playlist absorbs each local listing it is shown and keeps every
 * entry (`#EXTINF`, `#EXT-X-DISCONTINUITY` and the URI), in order. It is kept
 * in a file beside the live-upload links, so a restart finds it and the VOD
 * playlist uploaded at the end still covers the whole recording.
 */
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

/** One segment of a playlist with the tags that precede it. */
export interface PlaylistEntry {
  name: string;
  /** `#EXTINF:…` and any `#EXT-X-DISCONTINUITY` / `#EXT-X-PROGRAM-DATE-TIME` before the URI. */
  tags: string[];
  duration: number;
}

/** The segment entries of a playlist's text, in order. */
export function playlistEntries(text: string): PlaylistEntry[] {
  const out: PlaylistEntry[] = [];
  let tags: string[] = [];
  let duration = 0;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    if (line.startsWith('#EXTINF:')) {
      duration = Number.parseFloat(line.slice(8)) || 0;
      tags.push(line);
    } else if (line.startsWith('#EXT-X-DISCONTINUITY') || line.startsWith('#EXT-X-PROGRAM-DATE-TIME')) {
      tags.push(line);
    } else if (!line.startsWith('#')) {
      out.push({ name: line, tags, duration });
      tags = [];
      duration = 0;
    }
  }
  return out;
}

export class FullPlaylist {
  private readonly entries: PlaylistEntry[] = [];
  private readonly known = new Set<string>();

  /** `file`: where the full listing is kept (read back if it exists). */
  constructor(private readonly file: string) {
    if (existsSync(file)) this.absorbEntries(playlistEntries(readFileSync(file, 'utf8')));
  }

  /** Whether a full listing was kept for this recording. */
  static exists(file: string): boolean {
    return existsSync(file);
  }

  /** Adds entries (of a local listing) not known yet; returns how many were new, and keeps the file up to date. */
  absorb(entries: PlaylistEntry[]): number {
    const { added, appended } = this.absorbEntries(entries);
    if (added === 0) return 0;
    // Appended entries go at the end of the file (a day of 2 s segments is 43,200 entries: not rewritten each time).
    if (appended.length === added) appendFileSync(this.file, appended.map((e) => `${[...e.tags, e.name].join('\n')}\n`).join(''));
    else this.save();
    return added;
  }

  private absorbEntries(entries: PlaylistEntry[]): { added: number; appended: PlaylistEntry[] } {
    const appended: PlaylistEntry[] = [];
    let added = 0;
    for (const e of entries) {
      if (this.known.has(e.name)) continue;
      const last = this.entries[this.entries.length - 1];
      if (!last || segmentNumber(last.name) < segmentNumber(e.name)) {
        this.entries.push(e);
        appended.push(e);
      } else {
        // A salvaged listing may name a segment before the last one known: keep the playlist in segment order.
        const at = this.entries.findIndex((x) => segmentNumber(x.name) > segmentNumber(e.name));
        this.entries.splice(at < 0 ? this.entries.length : at, 0, e);
      }
      this.known.add(e.name);
      added++;
    }
    return { added, appended };
  }

  /** Segment names in playlist order. */
  names(): string[] {
    return this.entries.map((e) => e.name);
  }

  get size(): number {
    return this.entries.length;
  }

  nameAt(i: number): string {
    return this.entries[i].name;
  }

  has(name: string): boolean {
    return this.known.has(name);
  }

  /**
   * The playlist text: every entry up to and including `upTo` (all when
   * absent), as a live EVENT playlist, or as VOD with `#EXT-X-ENDLIST`.
   */
  render(opts: { upTo?: string; ended: boolean }): string {
    const end = opts.upTo === undefined ? this.entries.length : this.entries.findIndex((e) => e.name === opts.upTo) + 1;
    const listed = this.entries.slice(0, end);
    const target = Math.max(1, ...listed.map((e) => Math.ceil(e.duration)));
    const lines = [
      '#EXTM3U',
      '#EXT-X-VERSION:3',
      `#EXT-X-TARGETDURATION:${target}`,
      '#EXT-X-MEDIA-SEQUENCE:0',
      `#EXT-X-PLAYLIST-TYPE:${opts.ended ? 'VOD' : 'EVENT'}`,
      '#EXT-X-INDEPENDENT-SEGMENTS',
    ];
    for (const e of listed) lines.push(...e.tags, e.name);
    if (opts.ended) lines.push('#EXT-X-ENDLIST');
    return `${lines.join('\n')}\n`;
  }

  private save(): void {
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, this.render({ ended: false }));
    renameSync(tmp, this.file);
  }
}

/** `…_00012.ts` → 12 (names without a number sort last, in arrival order). */
function segmentNumber(name: string): number {
  const m = /(\d+)\.ts$/.exec(name);
  return m ? Number(m[1]) : Number.MAX_SAFE_INTEGER;
}
