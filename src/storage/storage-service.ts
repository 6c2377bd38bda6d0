/**
 * The storage module: every finished recording is cataloged and its files
 * queued durably before `recording.completed` is acknowledged (the recording
 * manager deletes its manifest only then, and announces the recording again
 * at the next start otherwise; enqueueing is idempotent, so that uploads it
 * once). The upload worker takes it from there; the retention sweep removes
 * local copies once they are safe to remove.
 *
 * Failed files are queued again when their app's storage settings change, at
 * start-up (the configuration may have changed while stopped), and on request
 * (`retry`).
 */
import type { Logger } from '../log/logger.js';
import type { Lifecycle } from '../lifecycle.js';
import type { AppSettings } from '../config/schema.js';
import type { StorageSettings } from '../config/storage-schema.js';
import type { AppLookup, AppRegistryEvents } from '../apps/app-registry.js';
import type { EventBus } from '../events/event-bus.js';
import type { BusEvents, RecordingCompleted, RecordingPartCompleted } from '../events/types.js';
import type { NewFile, Store } from '../db/types.js';
import { errorMessage } from '../errors.js';
import path from 'node:path';
import { PartReader } from './targets/part-reader.js';
import { TargetResolver } from './targets/targets.js';
import { UploadWorker } from './uploads/upload-worker.js';
import { RetentionSweeper } from './retention/retention.js';
import { FailureStats, type FailureCounts } from './uploads/failure-stats.js';
import { sidecarName } from './uploads/sidecar.js';
import { validateStorage, type ValidationReport } from './validation/validate.js';
import { ObjectAccess } from './object-access.js';
import { deleteRecording, type RecordingDeletion } from './deletion/recording-delete.js';
import { LiveHls } from './uploads/live-hls.js';
import { Destinations } from './destinations/index.js';

/** The app registry as storage needs it: lookups, and settings changes. */
export interface AppSource extends AppLookup {
  readonly events: Pick<EventBus<AppRegistryEvents>, 'on'>;
}

export interface StorageServiceOptions {
  /** The durable store (catalog, queue, credentials); closed by `stop()`. */
  store: Store;
  apps: AppSource;
  /** `recording.completed` comes from here; `upload.*` events go here. */
  events: EventBus<BusEvents>;
  settings: StorageSettings;
  /** The server's data dir: local copies are only ever deleted inside it; the filesystem target writes under `bucket/`. */
  dataDir: string;
  /** This node's stable id (lease owner in the queue). */
  nodeId: string;
  log: Logger;
}

export class StorageService implements Lifecycle {
  private readonly log: Logger;
  private readonly resolver: TargetResolver;
  private readonly worker: UploadWorker;
  private readonly sweeper: RetentionSweeper;
  private readonly stats = new FailureStats();
  /** Reads and hashes files for uploads in a worker thread. */
  private readonly reader = new PartReader();
  /** Where uploaded files are, and pre-signed URLs to them (playback). */
  readonly objects: ObjectAccess;
  private readonly removers: Array<() => void> = [];
  private readonly liveHls: LiveHls;
  /** Recordings that go somewhere other than their app's bucket (issue 18). */
  readonly destinations: Destinations;
  private started = false;

  /** The filesystem target's folder: objects of apps without a bucket. */
  private get localRoot(): string {
    return path.join(path.resolve(this.o.dataDir), 'bucket');
  }

  constructor(private readonly o: StorageServiceOptions) {
    this.log = o.log.child({ module: 'storage' });
    this.resolver = new TargetResolver({ credentials: o.store.credentials, localRoot: this.localRoot, inactivityTimeoutMs: o.settings.inactivityTimeoutSeconds * 1000 });
    this.destinations = new Destinations({ dataDir: path.resolve(o.dataDir), key: o.store.deriveKey('recording-destinations'), credentials: o.store.credentials, localRoot: this.localRoot, inactivityTimeoutMs: o.settings.inactivityTimeoutSeconds * 1000, log: this.log });
    this.worker = new UploadWorker({
      queue: o.store.queue,
      catalog: o.store.catalog,
      apps: o.apps,
      resolver: this.resolver,
      reader: this.reader,
      nodeId: o.nodeId,
      dataDir: o.dataDir,
      events: o.events,
      concurrency: o.settings.concurrentUploads,
      retryMaxDelayMs: o.settings.retryMaxDelaySeconds * 1000,
      stats: this.stats,
      adoptFromDeadNodes: o.settings.adoptFilesOfDeadNodes,
      log: this.log,
      destinations: this.destinations,
      durable: () => o.store.durable(),
    });
    this.objects = new ObjectAccess({ catalog: o.store.catalog, apps: o.apps, resolver: this.resolver, localRoot: this.localRoot, destinations: this.destinations });
    this.liveHls = new LiveHls({ store: o.store, apps: o.apps, dataDir: o.dataDir, wake: () => this.worker.wake(), log: this.log });
    this.sweeper = new RetentionSweeper({ catalog: o.store.catalog, apps: o.apps, dataDir: o.dataDir, durable: () => o.store.durable(), log: this.log });
  }

  async start(): Promise<void> {
    const { queue } = this.o.store;
    const released = await queue.releaseOwner(this.o.nodeId);
    const retried = await queue.retryFailed({});
    this.destinations.load();
    this.removers.push(
      this.o.events.on('recording.started', (r) => {
        try {
          this.destinations.book.bind(r, this.o.apps.get(r.app));
        } catch (err) {
          // Bound again (and kept) at its first part or its completion.
          this.log.error({ app: r.app, recordingId: r.recordingId, err: errorMessage(err) }, 'could not keep the recording destination');
        }
      }),
    );
    this.removers.push(this.o.events.on('stream.ended', (e) => this.destinations.book.sessionEnded(e.app, e.streamId, e.sessionId)));
    this.removers.push(this.o.events.on('recording.completed', (r) => this.onRecordingCompleted(r)));
    this.removers.push(this.o.events.on('recording.part', (p) => this.onRecordingPart(p)));
    // A pre-signed URL takes the MP4 alone: no live HLS for such a recording.
    this.removers.push(this.o.events.on('recording.hls', (e) => (this.destinations.presignedFor(e.recordingId) ? undefined : this.liveHls.onProgress(e))));
    this.removers.push(this.o.events.on('upload.completed', (u) => this.liveHls.onUploaded(u)));
    this.removers.push(this.o.apps.events.on('changed', ({ app, previous }) => this.onSettingsChanged(app, previous)));
    this.started = true;
    this.sweeper.start();
    this.worker.start();
    this.log.info({ nodeId: this.o.nodeId, resumed: released, retriedFailed: retried, concurrentUploads: this.o.settings.concurrentUploads }, 'upload queue started');
  }

  async stop(): Promise<void> {
    if (!this.started) {
      await this.o.store.close();
      return;
    }
    this.started = false;
    for (const remove of this.removers.splice(0)) remove();
    await this.worker.stop();
    await this.sweeper.stop();
    this.resolver.close();
    this.destinations.close();
    await this.reader.close();
    await this.o.store.close();
  }

  /** Queues failed files again now (all, an app's, a recording's, or one file); returns how many. */
  async retry(filter: { app?: string; recordingId?: string; fileId?: number } = {}): Promise<number> {
    const n = await this.o.store.queue.retryFailed(filter);
    if (filter.app) this.worker.unpause(filter.app);
    this.log.info({ ...filter, requeued: n }, 'retry requested');
    this.worker.wake();
    return n;
  }

  /** Runs storage validation for an app's current settings, or for settings not saved yet (`candidate`). */
  async validate(appName: string, candidate?: AppSettings): Promise<ValidationReport | undefined> {
    if (!candidate) {
      const app = this.o.apps.get(appName);
      return app ? validateStorage(app, this.resolver) : undefined;
    }
    // Unsaved settings get clients of their own: the app's cached client may be uploading right now.
    const resolver = new TargetResolver({ credentials: this.o.store.credentials, localRoot: this.localRoot });
    try {
      return await validateStorage(candidate, resolver);
    } finally {
      resolver.close();
    }
  }

  /** Deletes a recording's bucket objects (unless `keepObjects`), local files and catalog entry. */
  deleteRecording(recordingId: string, opts: { keepObjects?: boolean } = {}): Promise<RecordingDeletion> {
    return deleteRecording({ catalog: this.o.store.catalog, apps: this.o.apps, resolver: this.resolver, dataDir: this.o.dataDir, log: this.log, destinations: this.destinations }, recordingId, opts);
  }

  /** Failed attempts by class and code since start. */
  failures(): FailureCounts {
    return this.stats.snapshot();
  }

  /** Deletes local copies whose retention passed, now (also runs periodically). */
  sweep(): Promise<number> {
    return this.sweeper.sweepOnce();
  }

  private async onRecordingCompleted(r: RecordingCompleted): Promise<void> {
    const app = this.o.apps.get(r.app);
    const upload = this.destinations.uploadKinds(this.destinations.book.bind(r, app), app);
    const files: NewFile[] = r.files.map((f) => ({ kind: f.kind, name: f.name, localPath: f.path, size: f.size }));
    if (upload?.sidecar) files.push({ kind: 'metadata', name: sidecarName(r.name), localPath: null, size: 0 });
    const { files: _omit, parts, ...recording } = r;
    const log = this.log.child({ app: r.app, streamId: r.streamId, recordingId: r.recordingId });
    // Both calls are idempotent; the rows are made durable before this listener resolves (the recording module then removes the work dir).
    await this.o.store.catalog.addRecording(recording, files, parts);
    if (!upload) {
      await this.o.store.durable();
      log.info({ files: files.length }, 'recording cataloged; uploads are off for this app');
      return;
    }
    const names = files.filter((f) => upload.kinds(f.kind)).map((f) => f.name);
    const queued = await this.o.store.queue.enqueue(r.recordingId, names);
    await this.o.store.durable();
    log.info({ queued, files: files.length, recovered: r.recovered }, 'recording queued for upload');
    if (!this.destinations.presignedFor(r.recordingId)) await this.liveHls.onCompleted(r);
    this.worker.wake();
  }

  /** A part of a recording in progress: cataloged and queued now, while its stream goes on. */
  private async onRecordingPart(e: RecordingPartCompleted): Promise<void> {
    const app = this.o.apps.get(e.app);
    const upload = this.destinations.uploadKinds(this.destinations.book.bind(e, app), app);
    const { part, ...facts } = e;
    const recording = { ...facts, endedAt: part.endedAt, durationSeconds: 0, sizeBytes: 0, recovered: false };
    await this.o.store.catalog.addPart(recording, part, { kind: 'mp4', name: part.name, localPath: part.path, size: part.size });
    if (!upload?.kinds('mp4')) return this.o.store.durable();
    const queued = await this.o.store.queue.enqueue(e.recordingId, [part.name]);
    await this.o.store.durable();
    this.log.info({ app: e.app, streamId: e.streamId, recordingId: e.recordingId, part: part.part, file: part.name, queued }, 'recording part queued for upload');
    this.worker.wake();
  }

  private onSettingsChanged(app: AppSettings, previous: AppSettings | undefined): void {
    const before = previous && JSON.stringify([previous.s3RecordingEnabled, previous.s3]);
    if (before === JSON.stringify([app.s3RecordingEnabled, app.s3])) return;
    this.resolver.invalidate(app.name);
    this.worker.unpause(app.name);
    void this.o.store.queue.retryFailed({ app: app.name }).then(
      (n) => {
        this.log.info({ app: app.name, requeued: n }, 'storage settings changed; failed uploads queued again');
        this.worker.wake();
      },
      (err) => this.log.error({ err: errorMessage(err) }, 'could not queue failed uploads again'),
    );
  }
}
