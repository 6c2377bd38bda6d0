/**
 * The webhooks module for `main.ts`: the dispatcher (bus events → outbox)
 * and the sender (outbox → HTTP), as one Lifecycle. Start it before the
 * recording manager, so recordings recovered at start-up are announced to it.
 */
import type { AppLookup } from '../apps/app-registry.js';
import type { ApiSettings } from '../config/api-schema.js';
import type { EventBus } from '../events/event-bus.js';
import type { BusEvents } from '../events/types.js';
import type { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../log/logger.js';
import type { WebhookOutbox } from '../db/admin-types.js';
import type { RecordingCatalog } from '../db/types.js';
import { randomBytes } from 'node:crypto';
import { errorMessage } from '../errors.js';
import { WebhookDispatcher } from './webhook-dispatcher.js';
import { WebhookSender, type DeliveryCounts } from './webhook-sender.js';

export { signatureHeader, verifySignature, SIGNATURE_HEADER } from './signature.js';

export interface WebhooksOptions {
  /** Where the events come from. */
  events: EventBus<BusEvents>;
  /** Each app's webhooks (URL, events, secret), looked up at each delivery. */
  apps: AppLookup;
  /** The durable outbox. */
  outbox: WebhookOutbox;
  /** Recordings and their files (`recordingUploaded`). */
  catalog: RecordingCatalog;
  /** The `api` config section (public URL, delivery settings). */
  settings: ApiSettings;
  /** This node's id (lease owner in the outbox). */
  nodeId: string;
  log: Logger;
}

const PRUNE_EVERY_MS = 6 * 3_600_000;

export class Webhooks implements Lifecycle {
  private readonly dispatcher: WebhookDispatcher;
  private readonly sender: WebhookSender;
  private readonly log: Logger;
  private pruneTimer?: NodeJS.Timeout;

  constructor(private readonly o: WebhooksOptions) {
    this.log = o.log.child({ module: 'webhooks' });
    this.sender = new WebhookSender({ outbox: o.outbox, apps: o.apps, settings: o.settings.webhooks, nodeId: o.nodeId, log: this.log });
    this.dispatcher = new WebhookDispatcher({ events: o.events, apps: o.apps, outbox: o.outbox, catalog: o.catalog, publicUrl: o.settings.publicUrl, onEnqueued: () => this.sender.wake(), log: this.log });
  }

  async start(): Promise<void> {
    this.dispatcher.start();
    await this.dispatcher.catchUp().catch((err) => this.log.warn({ err: errorMessage(err) }, 'could not look for uploads a crash left unannounced'));
    await this.sender.start();
    const prune = () =>
      void this.o.outbox
        .prune(new Date(Date.now() - this.o.settings.webhooks.keepDays * 86_400_000))
        .then((n) => n && this.log.info({ removed: n }, 'old webhook deliveries pruned'))
        .catch((err) => this.log.warn({ err: errorMessage(err) }, 'could not prune webhook deliveries'));
    prune();
    this.pruneTimer = setInterval(prune, PRUNE_EVERY_MS);
    this.pruneTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.pruneTimer);
    this.dispatcher.stop();
    await this.sender.stop();
  }

  /** Queues a `ping` event to one webhook of an app (a test from the panel); returns the delivery id. */
  async ping(app: string, url: string): Promise<string> {
    const id = `evt_${randomBytes(12).toString('hex')}`;
    const body = JSON.stringify({ id, event: 'ping', createdAt: new Date().toISOString(), app, data: { message: 'a test delivery from bucketcast' } });
    await this.o.outbox.enqueue({ id, app, event: 'ping', url, body, dedupeKey: `ping:${id}` });
    this.sender.wake();
    return id;
  }

  /** Sends due deliveries now (a retry was requested). */
  wake(): void {
    this.sender.wake();
  }

  /** Deliveries sent, retried and given up since start. */
  get counts(): DeliveryCounts {
    return { ...this.sender.counts };
  }
}
