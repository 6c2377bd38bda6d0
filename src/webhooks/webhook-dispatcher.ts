/**
 * Turns bus events into webhook deliveries: for each enabled webhook of the
 * event's app that subscribes to it, one row in the durable outbox, written
 * before the bus listener resolves (so `recording.completed` is acknowledged
 * only once its `recordingReady` deliveries are stored). Each delivery has a
 * dedupe key, so an event announced twice (a recording recovered after a
 * crash, two files finishing at once) is delivered once.
 *
 * `recordingPartUploaded` goes out for each MP4 part uploaded and verified;
 * `recordingUploaded` goes out when the last file meant for the bucket of a
 * finished recording (every part) is uploaded and verified (nothing of it queued, uploading or
 * failed). A crash between that upload's record and its event would lose
 * it, so at start-up recordings whose last upload is recent are announced
 * again (their dedupe key keeps those already queued from being sent twice). `uploadFailed` goes out for a permanent failure, and for the first
 * retryable failure of a file (retries go on; one webhook per retry would
 * flood the receiver during an outage).
 */
import { randomBytes } from 'node:crypto';
import type { AppLookup } from '../apps/app-registry.js';
import type { WebhookEvent } from '../config/webhooks-schema.js';
import type { EventBus } from '../events/event-bus.js';
import type { BusEvents } from '../events/types.js';
import type { Logger } from '../log/logger.js';
import type { WebhookOutbox } from '../db/admin-types.js';
import type { RecordingCatalog } from '../db/types.js';
import { uploadStateOf } from '../db/upload-state.js';
import * as payloads from './payloads.js';

export interface WebhookDispatcherOptions {
  /** Where the events come from. */
  events: EventBus<BusEvents>;
  /** Each app's webhooks. */
  apps: AppLookup;
  /** Where deliveries are written. */
  outbox: WebhookOutbox;
  /** Recordings and their files (is a recording fully uploaded?). */
  catalog: RecordingCatalog;
  /** `api.publicUrl`, for absolute URLs in payloads. */
  publicUrl?: string;
  /** Called after deliveries were added (wakes the sender). */
  onEnqueued: () => void;
  log: Logger;
}

/** How far back start-up looks for uploads whose event a crash may have lost. */
const CATCH_UP_MS = 10 * 60_000;

export class WebhookDispatcher {
  private readonly removers: Array<() => void> = [];
  private readonly url: payloads.UrlOf;

  constructor(private readonly o: WebhookDispatcherOptions) {
    this.url = (p) => `${o.publicUrl ?? ''}${p}`;
  }

  start(): void {
    const { events } = this.o;
    this.removers.push(
      events.on('stream.started', (s) => this.enqueue(s.app, 'liveStreamStarted', s.sessionId, payloads.liveStreamStarted(s, this.url))),
      events.on('stream.ended', (s) => this.enqueue(s.app, 'liveStreamEnded', s.sessionId, payloads.liveStreamEnded(s))),
      events.on('recording.completed', (r) => this.enqueue(r.app, 'recordingReady', r.recordingId, payloads.recordingReady(r, this.url))),
      events.on('upload.completed', (u) => this.onUploadCompleted(u.recordingId, u.name)),
      events.on('upload.failed', (f) => {
        if (f.errorClass === 'retryable' && f.attempts > 1) return;
        return this.enqueue(f.app, 'uploadFailed', `${f.recordingId}:${f.name}:${f.attempts}`, payloads.uploadFailed(f));
      }),
    );
  }

  /** Queues `recordingUploaded` for recordings fully uploaded in the last minutes (see the design note). */
  async catchUp(): Promise<number> {
    const wanted = this.o.apps.list().some((a) => a.webhooks.some((h) => h.enabled && h.events.includes('recordingUploaded')));
    if (!wanted) return 0;
    const since = Date.now() - CATCH_UP_MS;
    const recent = await this.o.catalog.listRecordings({ uploadState: 'uploaded', startedFrom: new Date(Date.now() - 86_400_000).toISOString(), limit: 1000 });
    let n = 0;
    for (const summary of recent) {
      const r = await this.o.catalog.getRecording(summary.recordingId);
      const last = Math.max(0, ...(r?.files ?? []).map((f) => (f.uploadedAt ? Date.parse(f.uploadedAt) : 0)));
      if (!r || r.inProgress || last < since) continue;
      await this.enqueue(r.app, 'recordingUploaded', r.recordingId, payloads.recordingUploaded(r, this.url));
      n++;
    }
    return n;
  }

  stop(): void {
    for (const remove of this.removers.splice(0)) remove();
  }

  private async onUploadCompleted(recordingId: string, name: string): Promise<void> {
    const r = await this.o.catalog.getRecording(recordingId);
    if (!r) return;
    const part = r.parts?.find((p) => p.name === name);
    const file = r.files.find((f) => f.name === name);
    if (part && file) await this.enqueue(r.app, 'recordingPartUploaded', `${recordingId}:${name}`, payloads.recordingPartUploaded(r, part, file, this.url));
    // A recording still being recorded is not uploaded yet, however many of its parts are.
    if (r.inProgress || uploadStateOf(r.files) !== 'uploaded') return;
    await this.enqueue(r.app, 'recordingUploaded', recordingId, payloads.recordingUploaded(r, this.url));
  }

  private async enqueue(app: string, event: WebhookEvent, subject: string, data: unknown): Promise<void> {
    const hooks = (this.o.apps.get(app)?.webhooks ?? []).filter((h) => h.enabled && h.events.includes(event));
    let added = 0;
    for (const h of hooks) {
      const id = `evt_${randomBytes(12).toString('hex')}`;
      const body = JSON.stringify({ id, event, createdAt: new Date().toISOString(), app, data });
      if (await this.o.outbox.enqueue({ id, app, event, url: h.url, body, dedupeKey: `${event}:${subject}:${h.url}` })) added++;
    }
    if (added) {
      this.o.log.debug({ app, event, deliveries: added }, 'webhook deliveries queued');
      this.o.onEnqueued();
    }
  }
}
