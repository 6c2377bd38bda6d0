/**
 * Assembles a time-range MP4 from recording parts wherever they are (a local
 * file, or the bucket object through a pre-signed URL ffmpeg reads with
 * Range requests): ffmpeg's concat demuxer takes each part from its in-point
 * to its out-point, copied (no re-encode), so the clip starts at the keyframe
 * at or before the asked start (up to one GOP early).
 *
 * A faststart MP4 has its index before the media, which ffmpeg can only write
 * to a seekable file, and `Range` needs the same bytes on every request: so
 * the clip is written once to `<dataDir>/.playback/` and served from there;
 * the same span asked again within a minute (a player's Range requests) is
 * served from the same file, which is removed once unused.
 *
 * A part can move while the clip is made: its upload completes and the local
 * copy is deleted between the catalog read and ffmpeg opening the file. The
 * clip is then made again from a fresh read of the catalog (a few times), so a
 * part moving to the bucket never shortens the clip.
 */
import { createHash } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../log/logger.js';
import { AppError, errorMessage } from '../errors.js';
import type { Cut } from './spans.js';
import type { ObjectReader } from './types.js';

const run = promisify(execFile);
/** A clip not asked for this long is removed. */
const KEEP_MS = 60_000;
/** Clips kept at most (the least recently used go first). */
const MAX_CLIPS = 16;
/** Reads of the catalog one clip may take while its parts move from disk to the bucket. */
const ATTEMPTS = 4;
const RETRY_MS = 250;

export interface ClipMakerOptions {
  ffmpegPath: string;
  /** Folder of the clips (emptied at start and stop). */
  dir: string;
  reader: ObjectReader;
  log: Logger;
}

interface Clip {
  file: string;
  ready: Promise<string>;
  usedAt: number;
}

export class ClipMaker {
  private readonly clips = new Map<string, Clip>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly o: ClipMakerOptions) {}

  start(): void {
    rmSync(this.o.dir, { recursive: true, force: true });
    mkdirSync(this.o.dir, { recursive: true });
    this.timer = setInterval(() => this.expire(Date.now() - KEEP_MS), KEEP_MS / 4);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.clips.clear();
    rmSync(this.o.dir, { recursive: true, force: true });
  }

  /** The clip's file, made once per `id` (the span asked for) while it is kept; `cuts` reads the catalog (again on a retry). */
  async clip(id: string, app: string, cuts: () => Promise<Cut[]>): Promise<string> {
    const known = this.clips.get(id);
    if (known) {
      known.usedAt = Date.now();
      return known.ready;
    }
    const name = createHash('sha256').update(id).digest('hex').slice(0, 24);
    const file = path.join(this.o.dir, `${name}.mp4`);
    const entry: Clip = { file, usedAt: Date.now(), ready: this.make(file, app, cuts) };
    this.clips.set(id, entry);
    entry.ready.catch(() => this.clips.get(id) === entry && this.clips.delete(id));
    if (this.clips.size > MAX_CLIPS) this.expire(Number.POSITIVE_INFINITY, this.clips.size - MAX_CLIPS);
    return entry.ready;
  }

  private async make(file: string, app: string, readCuts: () => Promise<Cut[]>): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= ATTEMPTS;
      const cuts = await readCuts();
      // Local copies are pinned by a hard link for the clip's lifetime: ffmpeg's concat demuxer opens each file only
      // when it reaches it, and an upload completing meanwhile deletes the local copy (ffmpeg then ended the clip early).
      const sources = await Promise.all(cuts.map((c, i) => this.sourceOf(app, c, `${file}.src${i}.mp4`)));
      const pinned = sources.filter((s, i) => s && s !== cuts[i].part.localPath && s.startsWith(`${file}.src`)) as string[];
      const missing = cuts.filter((_, i) => !sources[i]).map((c) => c.part.name);
      if (missing.length > 0 && !last) {
        for (const f of pinned) rmSync(f, { force: true });
        await delay(RETRY_MS);
        continue;
      }
      if (missing.length > 0) this.o.log.warn({ app, parts: missing }, 'parts of the span are neither local nor uploaded; left out');
      const lines = ['ffconcat version 1.0'];
      cuts.forEach((c, i) => {
        const source = sources[i];
        if (!source) return;
        lines.push(`file '${source.replace(/'/g, "'\\''")}'`);
        if (c.inpoint !== undefined) lines.push(`inpoint ${c.inpoint.toFixed(3)}`);
        if (c.outpoint !== undefined) lines.push(`outpoint ${c.outpoint.toFixed(3)}`);
      });
      if (lines.length === 1) throw new AppError('recording_unavailable', 'the recorded parts of this span are neither on local disk nor in the bucket yet', 404);
      try {
        return await this.concat(file, lines);
      } catch (err) {
        // A local copy that could not be pinned and was deleted after it was listed: read the catalog again.
        const moved = cuts.some((c, i) => sources[i] === c.part.localPath && !existsSync(sources[i]!));
        if (moved && !last) continue;
        this.o.log.error({ err: errorMessage(err) }, 'time-range clip failed');
        throw new AppError('clip_failed', 'the recorded parts of this span could not be assembled', 502, { cause: err });
      } finally {
        for (const f of pinned) rmSync(f, { force: true });
      }
    }
  }

  private async concat(file: string, lines: string[]): Promise<string> {
    const list = `${file}.ffconcat`;
    const tmp = `${file}.tmp`;
    writeFileSync(list, `${lines.join('\n')}\n`);
    try {
      await run(this.o.ffmpegPath, [
        '-hide_banner', '-loglevel', 'error', '-y',
        '-f', 'concat', '-safe', '0', '-protocol_whitelist', 'file,http,https,tcp,tls,crypto', '-i', list,
        '-map', '0', '-c', 'copy', '-avoid_negative_ts', 'make_zero', '-movflags', '+faststart', '-f', 'mp4', tmp,
      ]);
      rmSync(file, { force: true });
      renameSync(tmp, file);
      return file;
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    } finally {
      rmSync(list, { force: true });
    }
  }

  /** Where ffmpeg reads a part: the local copy while it exists (hard-linked at `pin`), else its object. */
  private async sourceOf(app: string, c: Cut, pin: string): Promise<string | undefined> {
    const p = c.part;
    if (p.localPath) {
      try {
        rmSync(pin, { force: true });
        linkSync(p.localPath, pin);
        return pin;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // Another file system (or no hard links there): read it in place.
        if (code !== 'ENOENT' && existsSync(p.localPath)) return p.localPath;
      }
    }
    if (p.state === 'uploaded' && p.bucket && p.key) return this.o.reader.readUrl(app, p.bucket, p.key);
    return undefined;
  }

  /** Removes clips last used before `usedBefore` (at least `count` of the oldest when given). */
  private expire(usedBefore: number, count = Number.POSITIVE_INFINITY): void {
    const old = [...this.clips].filter(([, c]) => c.usedAt < usedBefore).sort((a, b) => a[1].usedAt - b[1].usedAt);
    for (const [id, c] of old.slice(0, count)) {
      this.clips.delete(id);
      // A response still streaming it keeps reading: an unlinked file lives until closed.
      void c.ready.then((f) => rmSync(f, { force: true }), () => undefined);
    }
  }
}
