/**
 * Records every live stream: one recording at a time per stream, started when
 * the publisher is accepted and finalized when it leaves. If ffmpeg dies while
 * the publisher is still live, what it wrote is finalized and a new recording
 * starts at the next keyframe (with backoff). At start-up, recordings left in
 * progress by a killed process are finalized and announced like any other.
 *
 * It knows nothing of what happens to a finished recording: it emits
 * `recording.completed` and forgets the recording once every listener succeeded.
 * A recording that cannot be finalized or announced yet (no room on the disk
 * for the remux, a listener failed) keeps its files and manifest and is tried
 * again with backoff, without waiting for a restart.
 *
 * When ffmpeg fails because the disk is full, the publisher is disconnected
 * (its encoder sees the error and reconnects; admission refuses it until there
 * is room again) instead of recording nothing while it stays live.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import type { Logger } from '../log/logger.js';
import type { Lifecycle } from '../lifecycle.js';
import type { AppLookup } from '../apps/app-registry.js';
import type { EventBus } from '../events/event-bus.js';
import type { BusEvents, RecordingCompleted } from '../events/types.js';
import type { MediaFeed, PublisherSession } from '../ingest/types.js';
import { AppError, errorMessage } from '../errors.js';
import type { DataLayout } from './layout.js';
import { readCompleted, readManifests, removeWorkDir, writeCompleted, writeManifest, type RecordingManifest } from './manifest.js';
import { uniqueRecordingName } from './naming.js';
import { recordingPaths, type RecordingPaths } from './paths.js';
import { PartWatcher } from './part-watcher.js';
import { HlsWatcher } from './hls-watcher.js';
import { finalizePart } from './parts.js';
import { recordingPlan } from './ffmpeg-args.js';
import { Recorder } from './recorder.js';
import { finalizeRecording } from './finalizer.js';
import { isDiskFull } from './disk-space.js';
import { Slots } from '../queue/slots.js';

/** First retry of a recording that could not be finalized or announced; doubled up to the maximum. */
const PENDING_RETRY_MS = 2_000;
const PENDING_RETRY_MAX_MS = 60_000;
/** Retry of a recording waiting for disk space: checking is cheap (the finalizer measures before it remuxes). */
const PENDING_DISK_RETRY_MS = 3_000;

/** The disk as the recording manager needs it. */
export interface DiskLevel {
  freeBytes(): number;
  isLow(): boolean;
}

export interface RecordingManagerOptions {
  layout: DataLayout;
  apps: AppLookup;
  ffmpegPath: string;
  ffprobePath: string;
  /** Where `recording.started` / `recording.completed` go. */
  events: EventBus<BusEvents>;
  log: Logger;
  /** Milliseconds ffmpeg gets to finish after end-of-input before SIGINT. */
  stopGraceMs?: number;
  /** Free space of the data dir; without it the disk is never considered full. */
  disk?: DiskLevel;
  /** Recordings finalized at once (remux, probe, playlist); the others wait. Default: one per CPU. */
  finalizeConcurrency?: number;
}

/** A recording kept on disk until it can be finalized and announced. */
interface Pending {
  manifest: RecordingManifest;
  endedAt?: Date;
  recovered: boolean;
  failures: number;
  dueAt: number;
}

/** What the manager keeps of a stream it records. */
interface Active {
  session: PublisherSession;
  /** False once recording was stopped for this stream (API or shutdown). */
  wanted: boolean;
  recorder?: Recorder;
  manifest?: RecordingManifest;
  loop: Promise<void>;
}

/** A recording in progress, for the API. */
export interface ActiveRecording {
  recordingId: string;
  app: string;
  streamId: string;
  name: string;
  startedAt: string;
}

export class RecordingManager implements Lifecycle {
  private readonly active = new Map<string, Active>();
  private readonly names = new Set<string>();
  private readonly pending = new Map<string, Pending>();
  private pendingTimer?: NodeJS.Timeout;
  private retrying?: Promise<void>;
  private recovery: Promise<void> = Promise.resolve();
  private stopping = false;
  private readonly log: Logger;
  private readonly finalizing: Slots;

  constructor(private readonly options: RecordingManagerOptions) {
    this.log = options.log.child({ module: 'recording' });
    this.finalizing = new Slots(options.finalizeConcurrency ?? Math.max(1, os.availableParallelism()));
  }

  /** Finalizes, in the background, recordings a killed process left in progress. */
  async start(): Promise<void> {
    this.recovery = this.recover().catch((err) => this.log.error({ err: errorMessage(err) }, 'recovery failed'));
  }

  /** Resolves when start-up recovery is done. */
  whenRecovered(): Promise<void> {
    return this.recovery;
  }

  /** Starts recording a newly published stream (when its app records anything). */
  record(session: PublisherSession): void {
    const k = key(session.app, session.streamId);
    if (this.stopping || this.active.has(k)) return;
    const app = this.options.apps.get(session.app);
    if (!app || !(app.mp4MuxingEnabled || app.hlsMuxingEnabled || app.previews.enabled)) return;
    const entry: Active = { session, wanted: true, loop: Promise.resolve() };
    this.active.set(k, entry);
    entry.loop = this.run(entry).finally(() => {
      if (this.active.get(k) === entry) this.active.delete(k);
    });
  }

  /** Starts recording a live stream that is not being recorded (API). */
  startFor(session: PublisherSession): void {
    if (this.active.has(key(session.app, session.streamId))) throw new AppError('already_recording', 'stream is already being recorded', 409);
    this.record(session);
  }

  /** Stops recording a stream while it stays live (API); resolves once the recording is final. */
  async stopFor(app: string, streamId: string): Promise<void> {
    const entry = this.active.get(key(app, streamId));
    if (!entry) throw new AppError('not_recording', 'stream is not being recorded', 409);
    entry.wanted = false;
    await entry.recorder?.stop(this.options.stopGraceMs);
    await entry.loop;
  }

  /** Recordings in progress. */
  list(): ActiveRecording[] {
    return [...this.active.values()]
      .filter((a) => a.manifest)
      .map((a) => ({ recordingId: a.manifest!.recordingId, app: a.manifest!.app, streamId: a.manifest!.streamId, name: a.manifest!.name, startedAt: a.manifest!.startedAt }));
  }

  /** Path of the HLS playlist being written for a live stream, if any. */
  livePlaylist(app: string, streamId: string): string | undefined {
    const m = this.active.get(key(app, streamId))?.manifest;
    if (!m?.hls) return undefined;
    const file = recordingPaths(this.options.layout, m).playlist;
    return existsSync(file) ? file : undefined;
  }

  private async run(entry: Active): Promise<void> {
    let last: RecordingManifest | undefined;
    try {
      await this.runLoop(entry, (m) => (last = m));
    } finally {
      // The stream's latest preview is a live thing: once the stream is no longer recorded, its recordings' posters stand for it.
      if (last?.previews) removeLatestPreview(recordingPaths(this.options.layout, last).latestPreview);
    }
  }

  private async runLoop(entry: Active, started: (m: RecordingManifest) => void): Promise<void> {
    const { session } = entry;
    const log = this.log.child({ app: session.app, streamId: session.streamId, protocol: session.protocol });
    let failures = 0;
    let sessionOver = false;
    void session.closed.then(() => {
      sessionOver = true;
      // RTMP input ends by itself when the publisher leaves; RTP input needs ffmpeg told.
      void entry.recorder?.stop(this.options.stopGraceMs);
    });
    while (entry.wanted && !sessionOver && !this.stopping) {
      let feed: MediaFeed;
      try {
        feed = await session.openMedia();
      } catch (err) {
        // E.g. no free loopback port for a WHIP recorder: retry like a failed ffmpeg.
        failures++;
        const delay = Math.min(30_000, 1000 * 2 ** Math.min(failures - 1, 5));
        log.error({ err: errorMessage(err), retryInMs: delay }, 'could not open the stream for recording');
        await sleep(delay);
        continue;
      }
      const app = this.options.apps.get(session.app);
      if (!app || sessionOver) {
        if (feed.format === 'flv') feed.stream.destroy();
        else feed.close();
        if (!sessionOver) log.warn('application removed, not recording');
        break;
      }
      const startedAt = new Date();
      const layout = this.options.layout;
      layout.ensureApp(session.app);
      const manifest: RecordingManifest = {
        version: 1,
        recordingId: randomUUID(),
        app: session.app,
        streamId: session.streamId,
        protocol: session.protocol,
        name: uniqueRecordingName(session.streamId, startedAt, [layout.streamsDir(session.app)], (n) => this.names.has(n) || this.isPendingName(n)),
        startedAt: startedAt.toISOString(),
        // WebRTC's VP8/VP9 is kept as sent, in WebM, unless the app requires MP4 (then it is transcoded).
        liveContainer: feed.format === 'sdp' && (feed.videoCodec === 'vp8' || feed.videoCodec === 'vp9') && !app.whip.requireMp4 ? 'webm' : 'fmp4',
        mp4: app.mp4MuxingEnabled,
        hls: app.hlsMuxingEnabled,
        previews: app.previews.enabled,
        previewFormat: app.previews.format,
        previewHeight: app.previews.height,
      };
      // Parts apply to the MP4 (fragmented while live); a WebM recording stays one file.
      if (manifest.mp4 && manifest.liveContainer === 'fmp4' && app.recordSegmentSeconds > 0) manifest.segmentSeconds = app.recordSegmentSeconds;
      const paths = recordingPaths(layout, manifest);
      started(manifest);
      this.names.add(manifest.name);
      const rlog = log.child({ recordingId: manifest.recordingId, name: manifest.name });
      let watcher: PartWatcher | undefined;
      let hls: HlsWatcher | undefined;
      try {
        writeManifest(paths.workDir, manifest);
        if (feed.format === 'sdp') writeFileSync(paths.sdp, feed.sdp);
        const plan = recordingPlan({ manifest, feed, paths, hlsTime: app.hlsTime, preview: app.previews });
        const recorder = new Recorder({ ffmpegPath: this.options.ffmpegPath, plan, feed, log: rlog });
        entry.recorder = recorder;
        entry.manifest = manifest;
        recorder.start();
        watcher = manifest.segmentSeconds ? this.watchParts(manifest, paths, rlog) : undefined;
        if (manifest.hls && app.hlsLiveUpload) {
          hls = new HlsWatcher({ manifest, paths, log: rlog, announce: (e) => this.options.events.emit('recording.hls', e) });
          hls.start();
        }
        rlog.info({ video: feed.videoCodec, audio: feed.audioCodec, segmentSeconds: manifest.segmentSeconds ?? 0 }, 'recording started');
        void this.options.events.emit('recording.started', {
          recordingId: manifest.recordingId,
          app: manifest.app,
          streamId: manifest.streamId,
          protocol: manifest.protocol,
          name: manifest.name,
          startedAt: manifest.startedAt,
        });
        if (sessionOver) void recorder.stop(this.options.stopGraceMs);
        const exit = await recorder.exited;
        await watcher?.stop();
        await hls?.stop();
        if (!exit.ok) {
          failures++;
          rlog.error({ err: exit.error, failures }, 'ffmpeg failed while recording');
          if (!sessionOver && (isDiskFull(exit.error) || this.options.disk?.isLow())) {
            // Restarting would fail the same way and record nothing: let the encoder see it and come back later.
            rlog.error('the recording disk is full: disconnecting the publisher; what was recorded is kept');
            entry.wanted = false;
            session.close('insufficient storage');
          }
        } else {
          failures = 0;
        }
        await this.complete(manifest, rlog, new Date(), false);
      } catch (err) {
        failures++;
        await watcher?.stop();
        await hls?.stop();
        rlog.error({ err: errorMessage(err) }, 'recording failed');
        if (feed.format === 'flv') feed.stream.destroy();
      } finally {
        this.names.delete(manifest.name);
        entry.recorder = undefined;
        entry.manifest = undefined;
      }
      if (failures > 0 && entry.wanted && !sessionOver && !this.stopping) {
        const delay = Math.min(30_000, 1000 * 2 ** Math.min(failures - 1, 5));
        rlog.warn({ retryInMs: delay }, 'restarting the recording');
        await sleep(delay);
      }
    }
  }

  /** Finalizes and announces the parts of a recording in progress as ffmpeg closes them. */
  private watchParts(m: RecordingManifest, paths: RecordingPaths, log: Logger): PartWatcher {
    const opts = { ffmpegPath: this.options.ffmpegPath, ffprobePath: this.options.ffprobePath, log, freeBytes: this.options.disk && (() => this.options.disk!.freeBytes()) };
    const watcher = new PartWatcher({
      manifest: m,
      paths,
      log,
      finalize: (n, finalName) => this.finalizing.run(() => finalizePart(m, paths, n, { ...opts, finalName, fallbackOffset: 0 })),
      announce: async (rec) => {
        log.info({ part: rec.part.part, file: rec.part.name, durationSeconds: rec.part.durationSeconds, sizeBytes: rec.part.size }, 'recording part completed');
        const { recordingId, app, streamId, protocol, name, startedAt } = m;
        return this.options.events.emit('recording.part', { recordingId, app, streamId, protocol, name, startedAt, part: rec.part, video: rec.video, audio: rec.audio });
      },
    });
    watcher.start();
    return watcher;
  }

  /**
   * Finalizes, announces, and forgets a recording once every listener succeeded.
   * Never throws: what cannot be done now is kept and tried again later.
   */
  private async complete(m: RecordingManifest, log: Logger, endedAt: Date | undefined, recovered: boolean): Promise<void> {
    const paths = recordingPaths(this.options.layout, m);
    // Finalized before (then a listener failed, or the process died): announced again as it was, never finalized twice.
    let done: RecordingCompleted | null | undefined = readCompleted(paths.workDir);
    if (!done) {
      try {
        const opts = { ffmpegPath: this.options.ffmpegPath, ffprobePath: this.options.ffprobePath, log, endedAt, recovered, freeBytes: this.options.disk && (() => this.options.disk!.freeBytes()) };
        done = await this.finalizing.run(() => finalizeRecording(m, paths, opts));
        if (done) writeCompleted(paths.workDir, done);
      } catch (err) {
        this.finalizeLater(m, endedAt, recovered, log, isDiskFull(err) ? 'no room on the disk' : 'finalization failed', errorMessage(err), isDiskFull(err));
        return;
      }
      if (!done) {
        removeWorkDir(paths.workDir);
        this.pending.delete(m.recordingId);
        return;
      }
    } else if (recovered && !done.recovered) {
      done = { ...done, recovered: true };
    }
    log.info(
      { durationSeconds: done.durationSeconds, sizeBytes: done.sizeBytes, files: done.files.length, recovered },
      'recording completed',
    );
    const handled = await this.options.events.emit('recording.completed', done);
    if (handled) {
      removeWorkDir(paths.workDir);
      this.pending.delete(m.recordingId);
    } else {
      this.finalizeLater(m, endedAt, recovered, log, 'a listener failed on recording.completed', 'see the listener error above');
    }
  }

  /** Keeps a recording (files and manifest stay) and schedules another try with backoff. */
  private finalizeLater(m: RecordingManifest, endedAt: Date | undefined, recovered: boolean, log: Logger, why: string, err: string, diskFull = false): void {
    const p = this.pending.get(m.recordingId) ?? { manifest: m, endedAt, recovered, failures: 0, dueAt: 0 };
    p.failures++;
    const delay = diskFull ? PENDING_DISK_RETRY_MS : Math.min(PENDING_RETRY_MAX_MS, PENDING_RETRY_MS * 2 ** Math.min(p.failures - 1, 10));
    p.dueAt = Date.now() + delay;
    this.pending.set(m.recordingId, p);
    // Waiting for space is logged once, not every few seconds.
    if (!diskFull || p.failures === 1) log.error({ err, attempts: p.failures, retryInMs: delay }, `recording kept, not finalized yet: ${why}; trying again`);
    this.schedulePending();
  }

  private schedulePending(): void {
    clearTimeout(this.pendingTimer);
    if (this.stopping || this.pending.size === 0 || this.retrying) return;
    const next = Math.min(...[...this.pending.values()].map((p) => p.dueAt));
    this.pendingTimer = setTimeout(() => {
      this.retrying = this.retryPending().finally(() => {
        this.retrying = undefined;
        this.schedulePending();
      });
    }, Math.max(50, next - Date.now()));
    this.pendingTimer.unref();
  }

  private async retryPending(): Promise<void> {
    for (const p of [...this.pending.values()]) {
      if (this.stopping) return;
      if (p.dueAt > Date.now()) continue;
      const m = p.manifest;
      const log = this.log.child({ app: m.app, streamId: m.streamId, recordingId: m.recordingId, name: m.name });
      log.info({ attempts: p.failures }, 'finalizing a kept recording');
      await this.complete(m, log, p.endedAt, p.recovered);
    }
  }

  private isPendingName(name: string): boolean {
    for (const p of this.pending.values()) if (p.manifest.name === name) return true;
    return false;
  }

  /** Recordings kept on disk, waiting to be finalized or announced (health, tests). */
  pendingCount(): number {
    return this.pending.size;
  }

  private async recover(): Promise<void> {
    for (const found of readManifests(this.options.layout.workRoot)) {
      if (!found.manifest) {
        this.log.error({ dir: found.dir, err: found.error }, 'unreadable recording manifest, left in place');
        continue;
      }
      const m = found.manifest;
      const log = this.log.child({ app: m.app, streamId: m.streamId, recordingId: m.recordingId, name: m.name });
      log.warn('finalizing a recording left by a previous run');
      await this.complete(m, log, undefined, true);
      if (m.previews && !this.active.has(key(m.app, m.streamId))) removeLatestPreview(recordingPaths(this.options.layout, m).latestPreview);
    }
  }

  /** No new recording and no restart from now on (shutdown has begun). */
  drain(): void {
    this.stopping = true;
  }

  /** Stops every recording and waits until each is final (kept ones wait for the next start). */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.pendingTimer);
    const all = [...this.active.values()];
    for (const a of all) {
      a.wanted = false;
      void a.recorder?.stop(this.options.stopGraceMs);
    }
    await Promise.all(all.map((a) => a.loop));
    await this.recovery;
    await this.retrying;
  }
}

function key(app: string, streamId: string): string {
  return `${app}/${streamId}`;
}

function removeLatestPreview(file: string): void {
  rmSync(file, { force: true });
  rmSync(`${file}.tmp`, { force: true });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
