/**
 * `GET /metrics` in Prometheus' text format (prom-client, on a registry of
 * its own). Values are read when scraped, from the modules that own them:
 * live streams and their ingest bitrate, recordings in progress, the upload
 * queue (depth, bytes, age of the oldest file), upload failures by class and
 * code, forwarding answers by mode and status, webhook deliveries, and the
 * process' default metrics. In a cluster (PostgreSQL store) every series
 * has a `node` label.
 *
 * Protection: an API token (`Authorization: Bearer`, which Prometheus sends
 * with `authorization: {credentials: …}`) or a session; with
 * `api.metrics.public: true` no authentication is asked.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { PublisherSession } from '../ingest/types.js';
import type { Protocol } from '../events/types.js';
import type { ActiveRecording } from '../recording/recording-manager.js';
import type { RecordingCatalog } from '../db/types.js';
import type { WebhookOutbox } from '../db/admin-types.js';
import type { FailureCounts } from '../storage/uploads/failure-stats.js';
import type { DeliveryCounts } from '../webhooks/webhook-sender.js';
import { route, type Route } from './http.js';

export interface MetricsSources {
  /** Names of the applications (each gets a 0 rather than no series). */
  apps: () => string[];
  /** Live publishers. */
  streams: () => PublisherSession[];
  /** Recordings in progress. */
  recordings: () => ActiveRecording[];
  /** File states and the upload backlog. */
  catalog: RecordingCatalog;
  /** Upload failures by class and code. */
  failures: () => FailureCounts;
  /** Pending webhook deliveries. */
  outbox: WebhookOutbox;
  /** Webhook attempts by outcome. */
  webhookCounts: () => DeliveryCounts;
  /**
   * Several nodes on one database: every series carries `node="<node id>"`, so one Prometheus tells them apart.
   * (Queue and outbox figures come from the shared database: each node reports the same cluster-wide value.)
   */
  node?: string;
}

const PROTOCOLS: Protocol[] = ['rtmp', 'whip'];

export class Metrics {
  readonly registry = new Registry();
  private readonly forwarding: Counter<'mode' | 'status'>;
  private readonly refusals: Counter<'kind' | 'scope'>;

  constructor(s: MetricsSources) {
    const registers = [this.registry];
    if (s.node) this.registry.setDefaultLabels({ node: s.node });
    // prom-client samples the loop with a timer of its own (10 ms by default: 100 wakeups a second of an idle
    // server); the health monitor's interval (RESOLUTION_MS in health/event-loop.ts) is enough for its
    // nodejs_eventloop_lag_* figures, which therefore read at least 0.05 s.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 50 });
    new Gauge({
      name: 'bucketcast_live_streams',
      help: 'Live publishers, by application and protocol',
      labelNames: ['app', 'protocol'],
      registers,
      collect() {
        this.reset();
        for (const app of s.apps()) for (const protocol of PROTOCOLS) this.set({ app, protocol }, 0);
        for (const st of s.streams()) this.inc({ app: st.app, protocol: st.protocol });
      },
    });
    new Gauge({
      name: 'bucketcast_ingest_bitrate_bits_per_second',
      help: 'Ingest bitrate of each live stream over the last seconds',
      labelNames: ['app', 'stream_id', 'protocol'],
      registers,
      collect() {
        this.reset();
        for (const st of s.streams()) this.set({ app: st.app, stream_id: st.streamId, protocol: st.protocol }, st.stats().bitrate);
      },
    });
    new Gauge({
      name: 'bucketcast_recordings_in_progress',
      help: 'Recordings being written, by application',
      labelNames: ['app'],
      registers,
      collect() {
        this.reset();
        for (const app of s.apps()) this.set({ app }, 0);
        for (const r of s.recordings()) this.inc({ app: r.app });
      },
    });
    new Gauge({
      name: 'bucketcast_upload_files',
      help: 'Files in the upload catalog by state (queued: waiting or between retries; failed: waiting for a settings change or a retry)',
      labelNames: ['state'],
      registers,
      async collect() {
        const counts = await s.catalog.countByState();
        for (const state of ['queued', 'uploading', 'failed'] as const) this.set({ state }, counts[state]);
      },
    });
    // One catalog read serves the three backlog gauges of a scrape (prom-client collects them concurrently).
    const backlog = shared(() => s.catalog.uploadBacklog());
    new Gauge({
      name: 'bucketcast_upload_queue_depth',
      help: 'Files waiting for or in upload',
      registers,
      async collect() {
        this.set((await backlog()).files);
      },
    });
    new Gauge({
      name: 'bucketcast_upload_bytes_pending',
      help: 'Bytes of the files waiting for or in upload',
      registers,
      async collect() {
        this.set((await backlog()).bytes);
      },
    });
    new Gauge({
      name: 'bucketcast_upload_oldest_pending_age_seconds',
      help: 'Seconds since the oldest file waiting for or in upload was cataloged (0 when none)',
      registers,
      async collect() {
        const oldest = (await backlog()).oldestCreatedAt;
        this.set(oldest ? Math.max(0, (Date.now() - Date.parse(oldest)) / 1000) : 0);
      },
    });
    // Parts of recordings (recordSegmentSeconds): one catalog read serves both gauges.
    const parts = shared(() => s.catalog.partBacklog());
    new Gauge({
      name: 'bucketcast_recording_parts_uploaded',
      help: 'Recording parts in the catalog that are uploaded and verified',
      registers,
      async collect() {
        this.set((await parts()).uploaded);
      },
    });
    new Gauge({
      name: 'bucketcast_recording_part_oldest_pending_age_seconds',
      help: 'Seconds since the oldest recording part not yet uploaded (queued, uploading or failed) was closed (0 when none)',
      registers,
      async collect() {
        const oldest = (await parts()).oldestEndedAt;
        this.set(oldest ? Math.max(0, (Date.now() - Date.parse(oldest)) / 1000) : 0);
      },
    });
    new Counter({
      name: 'bucketcast_upload_failures_total',
      help: 'Failed upload attempts since start, by class (retryable, permanent) and code',
      labelNames: ['class', 'code'],
      registers,
      collect() {
        // The storage module counts; this mirrors its totals (they only grow).
        this.reset();
        for (const f of s.failures().byClassAndCode) this.inc({ class: f.failureClass, code: f.code }, f.count);
      },
    });
    this.refusals = new Counter({
      name: 'bucketcast_connections_refused_total',
      help: 'Connections, WHIP sessions and publishers refused by a cap (server.limits, maxPublishers), by kind and scope (global, per_ip, app)',
      labelNames: ['kind', 'scope'],
      registers,
    });
    this.forwarding = new Counter({
      name: 'bucketcast_forwarding_responses_total',
      help: 'Answers for media files not on local disk, by forwarding mode (none: not forwarded) and HTTP status',
      labelNames: ['mode', 'status'],
      registers,
    });
    new Counter({
      name: 'bucketcast_webhook_deliveries_total',
      help: 'Webhook delivery attempts since start, by outcome (delivered, retried, failed: given up)',
      labelNames: ['outcome'],
      registers,
      collect() {
        this.reset();
        for (const [outcome, n] of Object.entries(s.webhookCounts())) this.inc({ outcome }, n);
      },
    });
    new Gauge({
      name: 'bucketcast_webhook_pending_deliveries',
      help: 'Webhook deliveries not yet delivered or given up',
      registers,
      async collect() {
        this.set((await s.outbox.backlog()).count);
      },
    });
  }

  /** Counts a refusal by a connection or publisher cap. */
  readonly onRefused = (kind: string, scope: string): void => {
    this.refusals.inc({ kind, scope });
  };

  /** The forwarding module's `onResponse` hook. */
  readonly onForwardingResponse = (mode: string, status: number): void => {
    this.forwarding.inc({ mode, status: String(status) });
  };
}

/**
 * A read shared by the gauges of one scrape (prom-client starts their collects together): callers while a read is in
 * flight get its answer; the next scrape reads again. (A time-based cache answered a scrape with the backlog of the
 * one before, beside counters that were already newer: failures counted, queue depth 0.)
 */
function shared<T>(read: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | undefined;
  return () => {
    if (inFlight) return inFlight;
    const p = read().finally(() => {
      if (inFlight === p) inFlight = undefined;
    });
    inFlight = p;
    return p;
  };
}

/** The `/metrics` route (mounted at the root, beside `/healthz`). */
export function metricsRoute(metrics: () => Metrics): Route {
  return route({
    method: 'get',
    path: '/metrics',
    responses: { 200: null },
    handler: async (_req, res) => {
      const m = metrics();
      res.setHeader('Content-Type', m.registry.contentType);
      res.setHeader('Cache-Control', 'no-store');
      res.send(await m.registry.metrics());
    },
  });
}
