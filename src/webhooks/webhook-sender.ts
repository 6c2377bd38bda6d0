/**
 * Sends queued webhook deliveries: leased from the outbox (so a delivery
 * survives a restart, and is sent again if the node died mid-attempt), POSTed
 * with the signature of the moment, done on a 2xx answer. Anything else — a
 * non-2xx status, a timeout, no connection — is retried with exponential
 * backoff and jitter until `maxAttempts`, then the delivery is marked failed
 * (the API can send it again). The webhook's URL and secret are looked up in
 * the app's current settings at each attempt: a removed webhook gets nothing.
 */
import type { AppLookup } from '../apps/app-registry.js';
import type { ApiSettings } from '../config/api-schema.js';
import type { Logger } from '../log/logger.js';
import type { WebhookDelivery, WebhookOutbox } from '../db/admin-types.js';
import { errorMessage } from '../errors.js';
import { JobPump } from '../queue/job-pump.js';
import { backoffMs } from '../queue/backoff.js';
import { SIGNATURE_HEADER, signatureHeader } from './signature.js';

const LEASE_MS = 120_000;
const POLL_MS = 5_000;

export interface WebhookSenderOptions {
  /** Where deliveries are leased from. */
  outbox: WebhookOutbox;
  /** Each app's current webhooks (URL and secret). */
  apps: AppLookup;
  /** Timeouts, retries, concurrency. */
  settings: ApiSettings['webhooks'];
  /** Lease owner (this node). */
  nodeId: string;
  log: Logger;
}

/** Deliveries sent, retried and given up since start (metrics). */
export interface DeliveryCounts {
  delivered: number;
  retried: number;
  failed: number;
}

export class WebhookSender {
  readonly counts: DeliveryCounts = { delivered: 0, retried: 0, failed: 0 };
  private readonly pump: JobPump<WebhookDelivery>;

  constructor(private readonly o: WebhookSenderOptions) {
    this.pump = new JobPump({
      name: 'webhook outbox',
      concurrency: () => o.settings.concurrency,
      claim: () => o.outbox.claim(o.nodeId, LEASE_MS),
      run: (d, ac) => this.send(d, ac.signal),
      nextDueInMs: async () => {
        const due = await o.outbox.nextDueAt();
        return due === undefined ? undefined : due - Date.now();
      },
      pollMs: POLL_MS,
      log: o.log,
    });
  }

  async start(): Promise<void> {
    const resumed = await this.o.outbox.releaseOwner(this.o.nodeId);
    if (resumed) this.o.log.info({ resumed }, 'webhook deliveries interrupted by the last stop are due again');
    this.pump.start();
  }

  /** Looks at the outbox now. */
  wake(): void {
    this.pump.wake();
  }

  stop(): Promise<void> {
    return this.pump.stop();
  }

  private async send(d: WebhookDelivery, signal: AbortSignal): Promise<void> {
    const { outbox, nodeId, settings } = this.o;
    const log = this.o.log.child({ app: d.app, event: d.event, deliveryId: d.id, url: printable(d.url) });
    const hook = this.o.apps.get(d.app)?.webhooks.find((h) => h.url === d.url);
    if (!hook || !hook.enabled) {
      const why = hook ? 'the webhook is disabled (enabled: false)' : 'the webhook is no longer in the application settings';
      await outbox.fail(d.id, nodeId, why);
      this.counts.failed++;
      log.warn({ reason: why }, 'webhook delivery dropped');
      return;
    }
    const attempt = d.attempts + 1;
    let status: number | undefined;
    let error: string;
    try {
      const res = await fetch(d.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'bucketcast-webhooks/1',
          'X-Bucketcast-Event': d.event,
          'X-Bucketcast-Delivery': d.id,
          [SIGNATURE_HEADER]: signatureHeader(hook.secret, d.body, Math.floor(Date.now() / 1000)),
        },
        body: d.body,
        redirect: 'manual',
        signal: AbortSignal.any([signal, AbortSignal.timeout(settings.timeoutSeconds * 1000)]),
      });
      status = res.status;
      // The answer's body is not needed; reading it frees the connection.
      await res.arrayBuffer().catch(() => undefined);
      if (status >= 200 && status < 300) {
        await outbox.complete(d.id, nodeId, status);
        this.counts.delivered++;
        log.info({ status, attempts: attempt }, 'webhook delivered');
        return;
      }
      error = `the receiver answered ${status}`;
    } catch (err) {
      if (signal.aborted && this.pump.stopping) {
        await outbox.release(d.id, nodeId);
        return;
      }
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      error = (err as Error).name === 'TimeoutError' ? `no answer within ${settings.timeoutSeconds} s` : `could not reach the receiver (${cause?.code ?? cause?.message ?? errorMessage(err)})`;
    }
    if (attempt >= settings.maxAttempts) {
      await outbox.fail(d.id, nodeId, `${error}; gave up after ${attempt} attempts`, status);
      this.counts.failed++;
      log.error({ status, attempts: attempt, err: error }, 'webhook delivery given up');
      return;
    }
    const delay = backoffMs(attempt, settings.retryMaxDelaySeconds * 1000);
    await outbox.retryLater(d.id, nodeId, Date.now() + delay, error, status);
    this.counts.retried++;
    log.warn({ status, attempts: attempt, err: error, retryInMs: delay }, 'webhook delivery failed, will retry');
  }
}

/** A URL as it may be logged: no query (it may hold a token of the receiver's). */
function printable(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}
