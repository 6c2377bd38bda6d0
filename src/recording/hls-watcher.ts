/**
 * Announces the closed HLS segments of a recording in progress
 * (`hlsLiveUpload`): ffmpeg renames a segment into place when it is complete
 * and then rewrites the EVENT playlist, so every segment the playlist lists
 * is final. The watcher looks at the playlist twice a second (one stat; the
 * playlist is read when its size or time changed) and announces the
 * whole listing whenever it names a segment not announced yet (listeners are
 * idempotent). A windowed playlist (`hlsWindowSeconds`) keeps its length while
 * ffmpeg deletes its oldest segments: a listed segment already deleted is left
 * out (announced before, unless the watcher lagged a whole window).
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log/logger.js';
import { every, fileStamp } from './ticker.js';
import type { RecordedFile, RecordingHlsProgress } from '../events/types.js';
import { errorMessage } from '../errors.js';
import { mediaStart, type RecordingManifest } from './manifest.js';
import type { RecordingPaths } from './paths.js';
import { playlistSegments } from './hls-playlist.js';

const LOOK_EVERY_MS = 500;

export interface HlsWatcherOptions {
  manifest: RecordingManifest;
  paths: RecordingPaths;
  announce: (e: RecordingHlsProgress) => Promise<boolean>;
  log: Logger;
}

export class HlsWatcher {
  private stopTicking?: () => void;
  private looking?: Promise<void>;
  /** The listing last announced (a window's worth of names at most, not every segment of a 24/7 stream). */
  private announced = new Set<string>();
  /** The playlist's size and time when its listing was last all announced ('' before). */
  private settled = '';

  constructor(private readonly o: HlsWatcherOptions) {}

  start(): void {
    this.stopTicking = every(LOOK_EVERY_MS, () => {
      if (!this.looking) this.looking = this.look().finally(() => (this.looking = undefined));
    });
  }

  async stop(): Promise<void> {
    this.stopTicking?.();
    await this.looking;
  }

  private async look(): Promise<void> {
    const { manifest: m, paths: p } = this.o;
    const stamp = fileStamp(p.playlist);
    if (!stamp || stamp === this.settled) return; // no playlist yet, or the one whose listing is all announced
    let names: string[];
    try {
      names = playlistSegments(readFileSync(p.playlist, 'utf8'));
    } catch {
      return; // replaced while we looked: read next time
    }
    if (names.every((n) => this.announced.has(n))) {
      this.settled = stamp;
      return;
    }
    try {
      const segments: RecordedFile[] = names.flatMap((n): RecordedFile[] => {
        const file = path.join(p.streamsDir, n);
        try {
          return [{ kind: 'hls-segment', path: file, name: n, size: statSync(file).size }];
        } catch {
          return []; // deleted by ffmpeg's window already
        }
      });
      const { recordingId, app, streamId, protocol, name } = m;
      if (await this.o.announce({ recordingId, app, streamId, protocol, name, startedAt: mediaStart(m), playlist: p.playlist, segments })) {
        this.announced = new Set(names);
        this.settled = stamp;
      }
    } catch (err) {
      this.o.log.warn({ err: errorMessage(err) }, 'live hls segments not announced yet');
    }
  }
}
