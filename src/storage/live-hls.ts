/**
 * HLS uploaded while live (`hlsLiveUpload`). Each closed segment is queued as
 * soon as the recording announces it, through a hard link under
 * `<dataDir>/.live-upload/<recordingId>/` (primary mode deletes what it
 * uploads, and the local playlist and the finalizer still need the segment
 * in the streams folder). Whenever a segment is verified in the bucket, the
 * bucket's playlist is queued again: the local EVENT playlist cut after the
 * last segment uploaded without a hole, so it never names a missing object
 * and stays about one segment behind. When the recording completes, the VOD
 * playlist replaces it, and segments uploaded while live are pointed at their
 * final local copy (dual mode) or that copy is deleted (primary mode).
 */
import { linkSync, copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log/logger.js';
import type { AppSettings } from '../config/schema.js';
import type { AppLookup } from '../apps/app-registry.js';
import type { RecordingCompleted, RecordingHlsProgress, UploadCompleted } from '../events/types.js';
import type { Store } from '../store/types.js';
import { errorMessage } from '../errors.js';

interface Live {
  name: string;
  /** The local EVENT playlist. */
  playlist: string;
  /** Segment names in playlist order, as announced. */
  order: string[];
  uploaded: Set<string>;
  /** The playlist changed while its last version was being uploaded. */
  dirty: boolean;
}

export interface LiveHlsOptions {
  store: Store;
  apps: AppLookup;
  dataDir: string;
  /** Wakes the upload worker. */
  wake: () => void;
  log: Logger;
}

export class LiveHls {
  private readonly live = new Map<string, Live>();
  /** Final playlists waiting for their live version's upload to finish. */
  private readonly finals = new Map<string, { localPath: string; size: number }>();

  constructor(private readonly o: LiveHlsOptions) {}

  private dir(recordingId: string): string {
    return path.join(this.o.dataDir, '.live-upload', recordingId);
  }

  private enabled(appName: string): AppSettings | undefined {
    const app = this.o.apps.get(appName);
    return app?.hlsLiveUpload && app.s3RecordingEnabled && app.s3.upload.hls ? app : undefined;
  }

  /** New closed segments of a recording in progress: linked and queued. */
  async onProgress(e: RecordingHlsProgress): Promise<void> {
    if (!this.enabled(e.app)) return;
    let live = this.live.get(e.recordingId);
    if (!live) {
      live = { name: e.name, playlist: e.playlist, order: [], uploaded: new Set(), dirty: false };
      this.live.set(e.recordingId, live);
      mkdirSync(this.dir(e.recordingId), { recursive: true });
    }
    const known = new Set(live.order);
    const fresh = e.segments.filter((s) => !known.has(s.name));
    if (fresh.length === 0) return;
    const files = fresh.map((s) => {
      const link = path.join(this.dir(e.recordingId), s.name);
      if (!existsSync(link)) {
        try {
          linkSync(s.path, link);
        } catch {
          copyFileSync(s.path, link); // a filesystem without hard links
        }
      }
      return { kind: 'hls-segment' as const, name: s.name, localPath: link, size: s.size };
    });
    const { segments: _s, playlist: _p, ...facts } = e;
    await this.o.store.catalog.addLiveFiles({ ...facts, endedAt: e.startedAt, durationSeconds: 0, sizeBytes: 0, recovered: false }, files);
    await this.o.store.queue.enqueue(e.recordingId, files.map((f) => f.name));
    live.order.push(...fresh.map((s) => s.name));
    this.o.wake();
  }

  /** A segment verified: the bucket's playlist follows; a playlist verified: a newer one goes next. */
  async onUploaded(u: UploadCompleted): Promise<void> {
    const live = this.live.get(u.recordingId);
    if (u.kind === 'hls-playlist') {
      const final = this.finals.get(u.recordingId);
      if (final && (await this.o.store.queue.requeue(u.recordingId, u.name, final))) {
        this.finals.delete(u.recordingId);
        this.o.wake();
      } else if (live?.dirty) {
        await this.queuePlaylist(u.recordingId, live);
      }
      return;
    }
    if (u.kind !== 'hls-segment') return;
    if (live) {
      live.uploaded.add(u.name);
      await this.queuePlaylist(u.recordingId, live);
    } else if (existsSync(this.dir(u.recordingId)) && !(await this.o.store.catalog.getRecording(u.recordingId))?.inProgress) {
      // Uploaded from its link after the recording completed: settle its final copy now.
      await this.settle(u.recordingId, u.app);
    }
  }

  /** The recording is final: its VOD playlist replaces the live one, its live segments find their final copies. */
  async onCompleted(r: RecordingCompleted): Promise<void> {
    const live = this.live.get(r.recordingId);
    this.live.delete(r.recordingId);
    if (!live && !existsSync(this.dir(r.recordingId))) return;
    const playlist = r.files.find((f) => f.kind === 'hls-playlist');
    if (playlist && existsSync(playlist.path)) {
      const final = { localPath: playlist.path, size: statSync(playlist.path).size };
      if (await this.o.store.queue.requeue(r.recordingId, playlist.name, final)) this.o.wake();
      else this.finals.set(r.recordingId, final);
    }
    await this.settle(r.recordingId, r.app);
  }

  /** Segments uploaded through their link: the final copy is deleted (primary) or takes the link's place (dual). */
  private async settle(recordingId: string, appName: string): Promise<void> {
    const rec = await this.o.store.catalog.getRecording(recordingId);
    const app = this.o.apps.get(appName);
    if (!rec || !app) return;
    const dir = this.dir(recordingId);
    const streams = path.join(this.o.dataDir, appName, 'streams');
    let waiting = 0;
    for (const f of rec.files) {
      if (f.kind !== 'hls-segment' || !f.localPath?.startsWith(dir + path.sep)) continue;
      const finalCopy = path.join(streams, f.name);
      if (f.state !== 'uploaded') {
        // Not sent yet: send the final copy instead of the link.
        if (existsSync(finalCopy) && (await this.o.store.queue.requeue(recordingId, f.name, { localPath: finalCopy, size: f.size }))) rmSync(f.localPath, { force: true });
        else waiting++;
        continue;
      }
      if (app.s3.storageMode === 'primary') rmSync(finalCopy, { force: true });
      else await this.o.store.catalog.relocate(recordingId, f.name, finalCopy);
      rmSync(f.localPath, { force: true });
    }
    if (waiting === 0) rmSync(dir, { recursive: true, force: true });
    this.o.wake();
  }

  /** Writes the bucket's playlist (the local one cut after the last segment uploaded without a hole) and queues it. */
  private async queuePlaylist(recordingId: string, live: Live): Promise<void> {
    let upTo = 0;
    while (upTo < live.order.length && live.uploaded.has(live.order[upTo])) upTo++;
    if (upTo === 0) return;
    const last = live.order[upTo - 1];
    let text: string;
    try {
      text = readFileSync(live.playlist, 'utf8');
    } catch (err) {
      this.o.log.warn({ err: errorMessage(err), recordingId }, 'live playlist unreadable');
      return;
    }
    const lines = text.split('\n');
    const at = lines.findIndex((l) => l.trim() === last);
    if (at < 0) return;
    const snapshot = path.join(this.dir(recordingId), `${live.name}.m3u8`);
    const body = `${lines.slice(0, at + 1).join('\n')}\n`;
    writeFileSync(`${snapshot}.tmp`, body);
    renameSync(`${snapshot}.tmp`, snapshot);
    const r = this.o.store.catalog;
    const rec = await r.getRecording(recordingId);
    if (!rec) return;
    await r.addLiveFiles(rec, [{ kind: 'hls-playlist', name: `${live.name}.m3u8`, localPath: snapshot, size: body.length }]);
    live.dirty = !(await this.o.store.queue.requeue(recordingId, `${live.name}.m3u8`, { localPath: snapshot, size: Buffer.byteLength(body) }));
    if (!live.dirty) this.o.wake();
  }
}
