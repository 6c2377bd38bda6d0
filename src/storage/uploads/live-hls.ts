/**
 * HLS uploaded while live (`hlsLiveUpload`). Each closed segment is queued as
 * soon as the recording announces it, through a hard link under
 * `<dataDir>/.live-upload/<recordingId>/` (primary mode deletes what it
 * uploads, and the local playlist and the finalizer still need the segment
 * in the streams folder). Whenever a segment is verified in the bucket, the
 * bucket's playlist is queued again: every segment the recording announced
 * (`live-hls-playlist.ts`: all of them, even when the local playlist is a
 * sliding window) cut after the last one uploaded without a hole, so it never
 * names a missing object and stays about one segment behind. When the
 * recording completes, the VOD playlist replaces it (the local window merged
 * into the full listing, so the bucket's VOD covers the whole recording), and
 * segments uploaded while live are pointed at their final local copy (dual
 * mode; one the window deleted has none) or that copy is deleted (primary mode).
 */
import { linkSync, copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../log/logger.js';
import type { AppSettings } from '../../config/schema.js';
import type { AppLookup } from '../../apps/app-registry.js';
import type { RecordingCompleted, RecordingHlsProgress, UploadCompleted } from '../../events/types.js';
import type { Store } from '../../db/types.js';
import { FullPlaylist, playlistEntries } from './live-hls-playlist.js';
import { errorMessage } from '../../errors.js';

interface Live {
  name: string;
  /** The local playlist (EVENT, or a sliding window). */
  playlist: string;
  /** Every segment announced, in playlist order, with its tags. */
  full: FullPlaylist;
  /** Segments linked and queued. */
  queued: Set<string>;
  uploaded: Set<string>;
  /** Entries of `full` known uploaded without a hole before them. */
  upTo: number;
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
      mkdirSync(this.dir(e.recordingId), { recursive: true });
      live = { name: e.name, playlist: e.playlist, full: new FullPlaylist(this.fullFile(e.recordingId, e.name)), queued: new Set(), uploaded: new Set(), upTo: 0, dirty: false };
      this.live.set(e.recordingId, live);
    }
    const queued = live.queued;
    const fresh = e.segments.filter((s) => !queued.has(s.name));
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
    for (const s of fresh) queued.add(s.name);
    // The entries (durations, discontinuities) of the segments queued, from the local playlist: kept even after
    // the local window drops them.
    try {
      live.full.absorb(playlistEntries(readFileSync(live.playlist, 'utf8')).filter((x) => queued.has(x.name)));
    } catch (err) {
      this.o.log.warn({ err: errorMessage(err), recordingId: e.recordingId }, 'live playlist unreadable');
    }
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
      this.mergeWindow(r.recordingId, r.name, playlist.path, live?.full);
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
      else if (existsSync(finalCopy)) await this.o.store.catalog.relocate(recordingId, f.name, finalCopy);
      else await this.o.store.catalog.markLocalDeleted(f.id); // dropped by the local window: served from the bucket
      rmSync(f.localPath, { force: true });
    }
    if (waiting === 0) rmSync(dir, { recursive: true, force: true });
    this.o.wake();
  }

  private fullFile(recordingId: string, name: string): string {
    return path.join(this.dir(recordingId), `${name}.full.m3u8`);
  }

  /**
   * The local VOD playlist of a recording whose local HLS was a window (it lists only the last segments):
   * rewritten as the full listing kept while live plus what the window adds (the last segments, salvaged
   * ones), so the bucket's VOD playlist covers the whole recording. Segments it names that are gone locally
   * are in the bucket (served through forwarding).
   */
  private mergeWindow(recordingId: string, name: string, local: string, kept?: FullPlaylist): void {
    const file = this.fullFile(recordingId, name);
    if (!kept && !FullPlaylist.exists(file)) return;
    const full = kept ?? new FullPlaylist(file);
    const entries = playlistEntries(readFileSync(local, 'utf8'));
    const listed = new Set(entries.map((e) => e.name));
    if (full.names().every((n) => listed.has(n))) return; // not windowed: the local VOD is whole
    full.absorb(entries);
    writeFileSync(`${local}.merging`, full.render({ ended: true }));
    renameSync(`${local}.merging`, local);
  }

  /** Writes the bucket's playlist (every segment announced, cut after the last one uploaded without a hole) and queues it. */
  private async queuePlaylist(recordingId: string, live: Live): Promise<void> {
    const { full } = live;
    while (live.upTo < full.size && live.uploaded.has(full.nameAt(live.upTo))) live.upTo++;
    if (live.upTo === 0) return;
    const snapshot = path.join(this.dir(recordingId), `${live.name}.m3u8`);
    const body = full.render({ upTo: full.nameAt(live.upTo - 1), ended: false });
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
