/**
 * Imports: a finished file (MP4, MKV, MPEG-TS) at an http(s) or pre-signed GET
 * URL, recorded through the same pipeline as a live stream. One ffmpeg reads
 * it as fast as it can (no `-re`) into a PullSession; the recorder's own pace
 * holds it back through the feed's backpressure, so the file is never read
 * faster than it is recorded, and never slower than that either.
 *
 * Progress: `import.progress` events (at most one a second while reading, the
 * last fraction when the read ends, and one at each state change): `reading`
 * (seconds of media read, of the file's
 * duration as ffmpeg reported it), `recorded` (the whole file went through
 * and the recording is being finalized), `completed` (its recording is final:
 * `recordingId`; uploads follow as for any recording), `failed` (`error`).
 * Imports are kept in memory for this run of the server (the recordings they
 * made are in the catalog like any other).
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { AppLookup } from '../apps/app-registry.js';
import type { EventBus } from '../events/event-bus.js';
import type { BusEvents, ImportProgress } from '../events/types.js';
import type { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../log/logger.js';
import type { StreamRegistry } from '../ingest/stream-registry.js';
import type { PublishRequest } from '../ingest/types.js';
import { streamIdProblem } from '../config/stream-id.js';
import { AppError, ValidationError } from '../errors.js';
import { PullSession, redact } from './pull-session.js';
import { maskUrl, remoteOf } from '../config/source-url.js';
import type { CredentialStore } from '../db/types.js';
import type { DestinationBook } from '../storage/destinations/book.js';
import { describeDestination, type DestinationSpec } from '../storage/destinations/output.js';
import { checkOutput } from '../storage/destinations/output.js';

export interface ImportView extends ImportProgress {
  url: string;
  /** Where its recording goes, without any key or signature; null: the app's destination rules, else its bucket. */
  output: Record<string, unknown> | null;
  createdAt: string;
  finishedAt: string | null;
}

interface Job {
  view: ImportView;
  session: PullSession | null;
}

export interface ImportManagerOptions {
  ffmpegPath: string;
  registry: Pick<StreamRegistry, 'claim' | 'release' | 'get'>;
  /** The source manager's set: requests in it need no publish credential. */
  trusted: WeakSet<PublishRequest>;
  apps: AppLookup;
  events: EventBus<BusEvents>;
  /** Where an import with an `output` (issue 18) records: the storage module's book, and the stored credentials an output may name. */
  outputs?: { book(): DestinationBook | undefined; credentials(): CredentialStore | undefined };
  log: Logger;
}

/** The body of `POST /applications/:name/imports` (the API documents it from this schema). */
export const importBody = z.strictObject({
  url: z
    .string()
    .max(8192)
    .refine((u) => /^https?:\/\//i.test(u) && URL.canParse(u), 'must be an http:// or https:// URL'),
  streamId: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      const p = v === undefined ? null : streamIdProblem(v);
      if (p) ctx.addIssue({ code: 'custom', message: p });
    }),
  /** Checked apart (see `checkOutput`): a pre-signed PUT URL or an s3:// destination. */
  output: z.unknown().optional(),
});

/** Imports kept for the API, newest first; older ones are forgotten past this. */
const KEEP = 200;
const PROGRESS_EVERY_MS = 1000;

export class ImportManager implements Lifecycle {
  private readonly jobs: Job[] = [];
  private readonly removers: Array<() => void> = [];
  private stopping = false;
  private readonly log: Logger;

  constructor(private readonly o: ImportManagerOptions) {
    this.log = o.log.child({ module: 'imports' });
  }

  async start(): Promise<void> {
    const mine = (app: string, streamId: string) => this.jobs.find((j) => j.view.app === app && j.view.streamId === streamId && (j.view.state === 'reading' || j.view.state === 'recorded'));
    this.removers.push(
      this.o.events.on('recording.started', (r) => {
        const j = mine(r.app, r.streamId);
        if (j && j.view.recordingId === null && r.protocol === 'import') j.view.recordingId = r.recordingId;
      }),
      this.o.events.on('recording.completed', (r) => {
        const j = this.jobs.find((x) => x.view.recordingId === r.recordingId);
        if (j && j.view.state !== 'failed') this.set(j, 'completed');
      }),
    );
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const r of this.removers.splice(0)) r();
    for (const j of this.jobs) j.session?.close('shutdown');
    await Promise.all(this.jobs.map((j) => j.session?.exited));
  }

  list(app: string): ImportView[] {
    return this.jobs.filter((j) => j.view.app === app).map((j) => ({ ...j.view }));
  }

  get(app: string, id: string): ImportView {
    const j = this.jobs.find((x) => x.view.app === app && x.view.importId === id);
    if (!j) throw new AppError('import_not_found', `no import "${id}" in application "${app}"`, 404);
    return { ...j.view };
  }

  /** Starts an import; answers at once (progress in events). */
  async create(app: string, input: unknown): Promise<ImportView> {
    if (this.stopping) throw new AppError('shutting_down', 'server is shutting down', 503);
    if (!this.o.apps.get(app)) throw new AppError('app_not_found', `no application "${app}"`, 404);
    const r = importBody.safeParse(input);
    if (!r.success) throw new ValidationError(r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
    // An `output` as a recording started by hand takes it (a pre-signed PUT URL included: an import makes one recording).
    let output: DestinationSpec | undefined;
    if (r.data.output !== undefined && r.data.output !== null) {
      output = await checkOutput(r.data.output, this.o.outputs?.credentials());
      if (!this.o.outputs?.book()) throw new AppError('storage_unavailable', 'storage is not running: no output can be taken', 503);
    }
    const importId = randomUUID();
    const streamId = r.data.streamId ?? `import-${importId.slice(0, 8)}`;
    const busy = this.o.registry.get(app, streamId) ?? this.jobs.find((j) => j.view.app === app && j.view.streamId === streamId && j.view.state === 'reading');
    if (busy) throw new AppError('stream_busy', `stream "${streamId}" is live`, 409);
    const job: Job = {
      view: {
        importId,
        app,
        streamId,
        url: maskUrl(r.data.url),
        output: output ? describeDestination(output) : null,
        state: 'reading',
        seconds: 0,
        durationSeconds: null,
        progress: null,
        recordingId: null,
        error: null,
        createdAt: new Date().toISOString(),
        finishedAt: null,
      },
      session: null,
    };
    this.jobs.unshift(job);
    this.jobs.splice(KEEP);
    void this.run(job, r.data.url, output).catch((err) => this.fail(job, redact(String(err))));
    return { ...job.view };
  }

  private async run(job: Job, url: string, output: DestinationSpec | undefined): Promise<void> {
    const { app, streamId } = job.view;
    const log = this.log.child({ app, streamId, importId: job.view.importId });
    let transcodeAudio = false;
    let transcodeVideo = false;
    for (let attempt = 0; attempt < 3; attempt++) {
      let lastSent = 0;
      const s = new PullSession({
        ffmpegPath: this.o.ffmpegPath,
        app,
        streamId,
        protocol: 'import',
        remoteAddress: remoteOf(url),
        // No other protocol than http(s): a playlist or redirect cannot make ffmpeg read local files.
        input: ['-protocol_whitelist', 'http,https,tcp,tls', '-rw_timeout', '30000000', '-i', url],
        transcodeAudio,
        transcodeVideo,
        stallMs: 60_000,
        logLevel: 'info',
        onStderr: (line) => {
          const m = /^\s*Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)/.exec(line);
          if (m && job.view.durationSeconds === null) job.view.durationSeconds = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
        },
        onTag: (dts) => {
          const seconds = dts / 1000;
          if (seconds <= job.view.seconds) return;
          job.view.seconds = seconds;
          const d = job.view.durationSeconds;
          job.view.progress = d ? Math.min(1, seconds / d) : null;
          if (Date.now() - lastSent >= PROGRESS_EVERY_MS) {
            lastSent = Date.now();
            this.emit(job);
          }
        },
        log,
      });
      job.session = s;
      s.start();
      const got = await s.firstData;
      if (!got) {
        const exit = await s.exited;
        job.session = null;
        if (exit.needs === 'audio' && !transcodeAudio) {
          transcodeAudio = true;
          continue;
        }
        if (exit.needs === 'video' && !transcodeVideo) {
          transcodeVideo = true;
          continue;
        }
        return this.fail(job, exit.error ?? 'the file has no audio or video ffmpeg could read');
      }
      s.startedAt = new Date();
      const req: PublishRequest = { app, streamId, protocol: 'import', remoteAddress: s.remoteAddress };
      this.o.trusted.add(req);
      // Its recording binds this output when it starts (as one started by hand with it).
      const book = output ? this.o.outputs?.book() : undefined;
      book?.setPending(app, streamId, output, s.id);
      const decision = await this.o.registry.claim(req, s);
      if (!decision.ok) {
        book?.clearPending(app, streamId, s.id);
        s.close('refused');
        await s.exited;
        job.session = null;
        return this.fail(job, `${decision.code}: ${decision.reason}`);
      }
      const reason = await s.closed;
      this.o.registry.release(s, reason);
      const exit = await s.exited;
      job.session = null;
      if (!exit.clean) return this.fail(job, exit.error ?? reason);
      if (job.view.durationSeconds) job.view.progress = 1;
      // The last fraction read goes out too (a file read in under a second would otherwise show one early fraction).
      if (job.view.state === 'reading') this.emit(job);
      log.info({ seconds: job.view.seconds, bytes: exit.bytes }, 'import read');
      if (job.view.state === 'reading') this.set(job, 'recorded');
      return;
    }
    this.fail(job, 'ffmpeg could not carry the file\'s tracks to the recorder');
  }

  private set(job: Job, state: ImportProgress['state']): void {
    job.view.state = state;
    if (state === 'completed' || state === 'failed') job.view.finishedAt = new Date().toISOString();
    this.emit(job);
  }

  private fail(job: Job, error: string): void {
    job.view.error = error;
    this.log.warn({ app: job.view.app, streamId: job.view.streamId, importId: job.view.importId, err: error }, 'import failed');
    this.set(job, 'failed');
  }

  private emit(job: Job): void {
    const { url: _url, output: _o, createdAt: _c, finishedAt: _f, ...p } = job.view;
    void this.o.events.emit('import.progress', { ...p });
  }
}
