/**
 * The per-stream recording loop: one recording at a time for a live stream,
 * started when the publisher is accepted and finalized when it leaves. If
 * ffmpeg dies while the publisher is still live, what it wrote is finalized
 * and a new recording starts at the next keyframe, after a backoff that
 * `stop()` cancels (a recorder backing off never holds shutdown). When ffmpeg
 * fails because the disk is full, the publisher is disconnected (its encoder
 * reconnects; admission refuses it until there is room) instead of recording
 * nothing while it stays live. While a recording runs, its closed MP4 parts
 * and HLS segments are finalized and announced by watchers.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { Logger } from '../log/logger.js';
import type { AppLookup } from '../apps/app-registry.js';
import type { AppSettings } from '../config/schema.js';
import type { EventBus } from '../events/event-bus.js';
import type { AudioInfo, BusEvents, VideoInfo } from '../events/types.js';
import type { MediaFeed, PublisherSession } from '../ingest/types.js';
import { errorMessage } from '../errors.js';
import type { Slots } from '../queue/slots.js';
import type { DataLayout } from './layout.js';
import { mediaStart, writeManifest, writeManifestAsync, type RecordingManifest } from './manifest.js';
import { reserveRecordingName } from './naming.js';
import { recordingPaths, type RecordingPaths } from './paths.js';
import { recordingPlan } from './ffmpeg-args.js';
import { Recorder } from './recorder.js';
import { isDiskFull } from './disk-space.js';
import { PartWatcher } from './part-watcher.js';
import { HlsWatcher } from './hls-watcher.js';
import { finalizePart } from './parts.js';
import { removeLatestPreview } from './recovery.js';
import type { DiskLevel, FinalizeQueue } from './finalize-queue.js';

/** What the loop keeps of a stream it records. */
export interface Active {
  session: PublisherSession;
  /** False once recording was stopped for this stream (API or shutdown). */
  wanted: boolean;
  /** Aborted when recording stops for this stream: ends a backoff at once. */
  cancel: AbortController;
  recorder?: Recorder;
  manifest?: RecordingManifest;
  loop: Promise<void>;
}

export interface StreamLoopDeps {
  layout: DataLayout;
  apps: AppLookup;
  ffmpegPath: string;
  events: EventBus<BusEvents>;
  disk?: DiskLevel;
  stopGraceMs?: number;
  queue: FinalizeQueue;
  finalizing: Slots;
  /** Names of recordings in progress (a new name must differ). */
  names: Set<string>;
  /** True once shutdown began. */
  stopping: () => boolean;
  /** Reserves names in the store (across nodes on PostgreSQL); without it names are only unique on this node. */
  reservations?: { reserve(app: string, name: string): Promise<boolean>; nodeId: string };
  log: Logger;
}

/** Records a stream until its publisher leaves or recording is stopped; then removes its latest preview. */
export async function recordStream(entry: Active, deps: StreamLoopDeps): Promise<void> {
  let last: RecordingManifest | undefined;
  try {
    await loop(entry, deps, (m) => (last = m));
  } finally {
    // The stream's latest preview is a live thing: once the stream is no longer recorded, its recordings' posters stand for it.
    if (last?.previews) removeLatestPreview(recordingPaths(deps.layout, last).latestPreview);
  }
}

async function loop(entry: Active, deps: StreamLoopDeps, started: (m: RecordingManifest) => void): Promise<void> {
  const { session } = entry;
  const log = deps.log.child({ app: session.app, streamId: session.streamId, protocol: session.protocol });
  let failures = 0;
  let sessionOver = false;
  void session.closed.then(() => {
    sessionOver = true;
    // RTMP input ends by itself when the publisher leaves; RTP input needs ffmpeg told.
    void entry.recorder?.stop(deps.stopGraceMs);
  });
  const going = () => entry.wanted && !sessionOver && !deps.stopping();
  while (going()) {
    let feed: MediaFeed;
    try {
      feed = await session.openMedia();
    } catch (err) {
      // E.g. no free loopback port for a WHIP recorder: retry like a failed ffmpeg.
      failures++;
      log.error({ err: errorMessage(err), retryInMs: backoff(failures) }, 'could not open the stream for recording');
      await sleep(backoff(failures), entry.cancel.signal);
      continue;
    }
    const app = deps.apps.get(session.app);
    if (!app || sessionOver) {
      feed.close();
      if (!sessionOver) log.warn('application removed, not recording');
      break;
    }
    const manifest = await newManifest(session, feed, app, deps, log);
    const paths = recordingPaths(deps.layout, manifest);
    // The wall-clock anchor: when the packet at the recorder's time 0 arrived (a replayed cache: before now).
    // Known at once in the common case; else taken (and the manifest written again) before anything is placed in time.
    const anchor = (): void => {
      if (manifest.mediaStartedAt) return;
      const at = feed.mediaStartedAt();
      if (at === undefined) return;
      manifest.mediaStartedAt = new Date(at).toISOString();
      if (anchorWritten) writeManifest(paths.workDir, manifest);
    };
    let anchorWritten = false;
    anchor();
    started(manifest);
    deps.names.add(manifest.name);
    const rlog = log.child({ recordingId: manifest.recordingId, name: manifest.name });
    let parts: PartWatcher | undefined;
    let hls: HlsWatcher | undefined;
    const stopWatchers = async () => {
      await parts?.stop();
      await hls?.stop();
    };
    try {
      // Durable before the recorder starts (crash recovery starts from it), without holding the event loop.
      await writeManifestAsync(paths.workDir, manifest);
      anchorWritten = true;
      const { descriptor } = feed.input();
      if (descriptor !== undefined) writeFileSync(paths.descriptor, descriptor);
      const plan = recordingPlan({ manifest, feed, paths, hlsTime: app.hlsTime, preview: app.previews });
      const recorder = new Recorder({ ffmpegPath: deps.ffmpegPath, plan, feed, log: rlog });
      entry.recorder = recorder;
      entry.manifest = manifest;
      recorder.start();
      parts = manifest.segmentSeconds ? watchParts(manifest, paths, deps, rlog, anchor) : undefined;
      if (manifest.hls && app.hlsLiveUpload) {
        hls = new HlsWatcher({
          manifest,
          paths,
          log: rlog,
          announce: (e) => {
            anchor();
            return deps.events.emit('recording.hls', { ...e, startedAt: mediaStart(manifest) });
          },
        });
        hls.start();
      }
      rlog.info({ video: feed.videoCodec, audio: feed.audioCodec, segmentSeconds: manifest.segmentSeconds ?? 0 }, 'recording started');
      const { recordingId, streamId, protocol, name } = manifest;
      void deps.events.emit('recording.started', { recordingId, app: manifest.app, streamId, sessionId: session.id, protocol, name, startedAt: mediaStart(manifest) });
      if (sessionOver) void recorder.stop(deps.stopGraceMs);
      const exit = await recorder.exited;
      await stopWatchers();
      anchor();
      if (!exit.ok) {
        failures++;
        rlog.error({ err: exit.error, failures }, 'ffmpeg failed while recording');
        if (!sessionOver && (isDiskFull(exit.error) || deps.disk?.isLow())) {
          // Restarting would fail the same way and record nothing: let the encoder see it and come back later.
          rlog.error('the recording disk is full: disconnecting the publisher; what was recorded is kept');
          entry.wanted = false;
          session.close('insufficient storage');
        }
      } else {
        failures = 0;
      }
      await deps.queue.complete(manifest, rlog, new Date(), false);
    } catch (err) {
      failures++;
      await stopWatchers();
      rlog.error({ err: errorMessage(err) }, 'recording failed');
      feed.close();
    } finally {
      deps.names.delete(manifest.name);
      entry.recorder = undefined;
      entry.manifest = undefined;
    }
    if (failures > 0 && going()) {
      rlog.warn({ retryInMs: backoff(failures) }, 'restarting the recording');
      await sleep(backoff(failures), entry.cancel.signal);
    }
  }
}

async function newManifest(session: PublisherSession, feed: MediaFeed, app: AppSettings, deps: StreamLoopDeps, log: Logger): Promise<RecordingManifest> {
  const startedAt = new Date();
  const { layout } = deps;
  layout.ensureApp(session.app);
  const r = deps.reservations;
  const name = await reserveRecordingName({
    app: session.app,
    streamId: session.streamId,
    startedAt,
    dirs: [layout.streamsDir(session.app)],
    taken: (n) => deps.names.has(n) || deps.queue.hasName(n),
    // Without a store (unit tests) a name free here is taken at once.
    reserve: r ? (a, n) => r.reserve(a, n) : async () => true,
    nodeId: r?.nodeId ?? 'local',
    onFallback: (err) => log.warn({ err }, 'could not reserve the recording name in the store; the name carries this node\'s id'),
  });
  const manifest: RecordingManifest = {
    version: 1,
    recordingId: randomUUID(),
    app: session.app,
    streamId: session.streamId,
    protocol: session.protocol,
    name,
    startedAt: startedAt.toISOString(),
    // Video an MP4 cannot take as it comes from this feed but WebM can (WebRTC's VP8/VP9) is kept as sent, in WebM,
    // unless the app requires MP4 (then it is transcoded).
    liveContainer: liveContainer(feed, app),
    mp4: app.mp4MuxingEnabled,
    hls: app.hlsMuxingEnabled,
    previews: app.previews.enabled,
    previewFormat: app.previews.format,
    previewHeight: app.previews.height,
  };
  // Parts apply to the MP4 (fragmented while live); a WebM recording stays one file.
  if (manifest.mp4 && manifest.liveContainer === 'fmp4' && app.recordSegmentSeconds > 0) manifest.segmentSeconds = app.recordSegmentSeconds;
  // With parts on, local HLS is a sliding window (a 24/7 stream must not fill the disk with segments).
  if (manifest.segmentSeconds && manifest.hls && app.hlsWindowSeconds > 0) manifest.hlsWindowSegments = Math.max(3, Math.ceil(app.hlsWindowSeconds / app.hlsTime));
  return manifest;
}

/** Finalizes and announces the parts of a recording in progress as ffmpeg closes them. */
function watchParts(m: RecordingManifest, paths: RecordingPaths, deps: StreamLoopDeps, log: Logger, anchor: () => void): PartWatcher {
  const opts = deps.queue.finalizeOptions(log);
  // The streams of the first part probed, for the parts after it (no ffprobe per part).
  let streams: { video?: VideoInfo; audio?: AudioInfo } | undefined;
  const watcher = new PartWatcher({
    manifest: m,
    paths,
    log,
    finalize: (n, finalName, timings) => {
      anchor();
      const asked = performance.now();
      return deps.finalizing.run(() => {
        timings.waitMs = Math.round(performance.now() - asked);
        return finalizePart(m, paths, n, { ...opts, finalName, fallbackOffset: 0, timings, streams }).then((rec) => {
          if (rec && !streams && (rec.video || rec.audio)) streams = { video: rec.video, audio: rec.audio };
          return rec;
        });
      });
    },
    announce: async (rec, timings) => {
      log.info({ part: rec.part.part, file: rec.part.name, startedAt: rec.part.startedAt, endedAt: rec.part.endedAt, durationSeconds: rec.part.durationSeconds, sizeBytes: rec.part.size, ...timings }, 'recording part completed');
      const { recordingId, app, streamId, protocol, name } = m;
      return deps.events.emit('recording.part', { recordingId, app, streamId, protocol, name, startedAt: mediaStart(m), part: rec.part, video: rec.video, audio: rec.audio });
    },
  });
  watcher.start();
  return watcher;
}

/** 1 s, 2 s, 4 s … 30 s. */
function backoff(failures: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.min(failures - 1, 5));
}

/** Waits `ms`, or less when `signal` aborts (stop, shutdown). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Video codecs a WebM carries as they are. */
const WEBM_VIDEO = new Set(['vp8', 'vp9']);

function liveContainer(feed: MediaFeed, app: AppSettings): RecordingManifest['liveContainer'] {
  const codec = feed.videoCodec;
  return codec && !feed.mp4VideoCodecs.has(codec) && WEBM_VIDEO.has(codec) && !app.whip.requireMp4 ? 'webm' : 'fmp4';
}
