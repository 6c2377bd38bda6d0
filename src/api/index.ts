/**
 * The admin API for `main.ts`: the express router (`/api/v1/…` and
 * `/metrics`), the live events channel on the HTTP server's upgrades, and the
 * metrics registry whose forwarding hook main hands to the forwarding module.
 * Every route but login and the OpenAPI document needs an admin (session
 * cookie + CSRF header, or an API token).
 */
import type { UpgradeRoutes } from '../http/upgrades.js';
import { Router } from 'express';
import type { AppRegistry } from '../apps/app-registry.js';
import { AppAdmin } from '../apps/app-admin.js';
import type { ApiSettings } from '../config/api-schema.js';
import type { AppSettings } from '../config/schema.js';
import type { EventBus } from '../events/event-bus.js';
import type { BusEvents } from '../events/types.js';
import type { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../log/logger.js';
import type { PublisherSession } from '../ingest/types.js';
import type { ActiveRecording } from '../recording/recording-manager.js';
import type { Store } from '../db/types.js';
import type { FailureCounts } from '../storage/uploads/failure-stats.js';
import type { RecordingDeletion } from '../storage/deletion/recording-delete.js';
import type { ValidationReport } from '../storage/validation/validate.js';
import type { AuthService } from '../auth/auth-service.js';
import type { PublishCredentials } from '../auth/publish-credentials.js';
import type { DeliveryCounts } from '../webhooks/webhook-sender.js';
import { requireAdmin } from '../auth/http-auth.js';
import { AppError } from '../errors.js';
import { apiErrorHandler, mount, route, type Route } from './http.js';
import { q, z } from './schema.js';
import type { ClusterNodes } from '../cluster/nodes.js';
import { authRoutes } from './auth-routes.js';
import { applicationRoutes } from './applications.js';
import { publishSecurityRoutes } from './publish-security.js';
import { playbackTokenRoutes } from './playback-tokens.js';
import type { PlaybackClaims } from '../forwarding/playback-token.js';
import { storageValidationRoutes } from './storage-validation.js';
import { nodeRoutes, streamRoutes } from './streams.js';
import { destinationRoutes } from './destinations.js';
import type { Destinations } from '../storage/destinations/index.js';
import { recordingRoutes } from './recordings.js';
import { credentialRoutes } from './credentials.js';
import { webhookRoutes } from './webhook-deliveries.js';
import { serverRoutes } from './server-info.js';
import { Metrics, metricsRoute } from './metrics.js';
import { EventsChannel, EVENTS_PATH } from './events-channel.js';
import { UploadProgress } from './upload-progress.js';
import { openApiDocument } from './openapi.js';
import { sourceRoutes, type SourceRoutesOptions } from './sources.js';

export interface ApiOptions {
  /** The `api` config section. */
  settings: ApiSettings;
  /** The durable store (catalog, credentials, app settings, outbox …). */
  store: Store;
  /** Current applications; changes go through `AppAdmin` into it. */
  apps: AppRegistry;
  /** Apps whose settings the API saved (from `loadApps`). */
  savedApps: Set<string>;
  /** Events the live channel forwards and upload progress is read from. */
  events: EventBus<BusEvents>;
  /** The live publishers (the stream registry). */
  streams: { list(): PublisherSession[]; get(app: string, streamId: string): PublisherSession | undefined };
  /** Recordings in progress, and starting/stopping them. */
  recordings: { list(): ActiveRecording[]; startFor(s: PublisherSession): void; stopFor(app: string, streamId: string): Promise<void> };
  /** The storage module: validation, retries, deletion, failure counts. */
  storage: {
    validate(app: string, candidate?: AppSettings): Promise<ValidationReport | undefined>;
    retry(filter: { recordingId: string }): Promise<number>;
    deleteRecording(id: string, opts: { keepObjects?: boolean }): Promise<RecordingDeletion>;
    failures(): FailureCounts;
    /** Recordings that go somewhere other than their app's bucket (issue 18). */
    destinations?: Destinations;
  };
  /** The webhooks module: wake on retries, test pings, delivery counts. */
  webhooks: { wake(): void; ping(app: string, url: string): Promise<string>; counts: DeliveryCounts };
  /** Admin authentication (sessions, tokens). */
  auth: AuthService;
  /** Stream keys and signing secrets. */
  publishCredentials: PublishCredentials;
  /** Pulled sources of each app (src/sources). */
  sources: SourceRoutesOptions['sources'];
  /** Imports of finished files (src/sources/imports.ts). */
  imports: SourceRoutesOptions['imports'];
  /** The RTMP listener's port (for publish URLs). */
  rtmpPort: () => number;
  /** Conditions the panel shows as a banner (`GET /server` → `warnings`). */
  warnings?: () => unknown[];
  /** Mints viewing tokens of private apps (`playback.access: "signed"`). */
  playback: { mint(claims: PlaybackClaims): string };
  /** This node's id. */
  nodeId: string;
  /** The cluster's nodes (PostgreSQL store). */
  cluster?: ClusterNodes;
  log: Logger;
}

/** Every route of `/api/v1`, unguarded ones first, and those at the root (`/metrics`): the OpenAPI document is built from them. */
export function apiRoutes(o: ApiOptions, admin: AppAdmin, progress: UploadProgress, metrics?: () => Metrics): { open: Route[]; guarded: Route[]; root: Route[] } {
  const urls = { rtmpPort: o.rtmpPort };
  const guarded = [
    ...serverRoutes({ rtmpPort: o.rtmpPort, publicUrl: o.settings.publicUrl, warnings: o.warnings }),
    ...applicationRoutes({ apps: o.apps, admin, streams: o.streams, ...urls }),
    ...storageValidationRoutes({ admin, storage: o.storage }),
    ...publishSecurityRoutes({ credentials: o.publishCredentials, ...urls }),
    ...playbackTokenRoutes({ apps: o.apps, playback: o.playback }),
    ...webhookRoutes({ outbox: o.store.outbox, apps: o.apps, webhooks: o.webhooks }),
    ...streamRoutes({ apps: o.apps, streams: o.streams, recordings: o.recordings, nodeId: o.nodeId, cluster: o.cluster, outputs: { destinations: () => o.storage?.destinations, credentials: () => o.store?.credentials } }),
    ...nodeRoutes({ nodeId: o.nodeId, liveStreams: () => o.streams.list().length, cluster: o.cluster }),
    ...destinationRoutes({ apps: o.apps, destinations: () => o.storage?.destinations, credentials: () => o.store?.credentials }),
    ...recordingRoutes({ catalog: o.store.catalog, storage: o.storage, progress, nodeId: o.nodeId }),
    ...credentialRoutes({ credentials: o.store.credentials, apps: o.apps, sources: { usingCredential: (sid) => o.sources?.usingCredential?.(sid) ?? [] } }),
    ...sourceRoutes({
      sources: o.sources,
      imports: o.imports,
      requireApp: (name) => {
        if (!o.apps.get(name)) throw new AppError('app_not_found', `no application "${name}"`, 404);
      },
    }),
    route({
      method: 'get',
      path: '/events',
      // Read by the events channel on the upgrade (a plain GET is refused).
      query: z.object({ app: q.string('only events of this application') }),
      responses: { 101: null },
      handler: () => {
        throw new AppError('upgrade_required', `${EVENTS_PATH} is a WebSocket: connect with ws:// or wss://`, 426);
      },
    }),
  ];
  const root = [metricsRoute(metrics ?? (() => undefined as never))];
  let doc: unknown;
  const open: Route[] = [
    route({ method: 'get', path: '/openapi.json', responses: { 200: z.looseObject({ openapi: z.string(), paths: z.record(z.string(), z.unknown()) }).describe('this document') }, handler: () => (doc ??= openApiDocument({ api: [...open, ...guarded], root })) }),
    ...authRoutes({ auth: o.auth }),
  ];
  return { open, guarded, root };
}

export class Api implements Lifecycle {
  readonly router = Router();
  readonly metrics: Metrics;
  private readonly progress: UploadProgress;
  private channel?: EventsChannel;
  private upgrades?: UpgradeRoutes;
  private readonly log: Logger;

  constructor(private readonly o: ApiOptions) {
    this.log = o.log.child({ module: 'api' });
    this.progress = new UploadProgress(o.events);
    const admin = new AppAdmin({
      registry: o.apps,
      store: o.store.appSettings,
      saved: o.savedApps,
      liveStreams: (app) => o.streams.list().filter((s) => s.app === app).length,
      onDeleted: (name) => o.store.publishCredentials.deleteApp(name),
      log: this.log,
    });
    this.metrics = new Metrics({
      apps: () => o.apps.list().map((a) => a.name),
      streams: () => o.streams.list(),
      recordings: () => o.recordings.list(),
      catalog: o.store.catalog,
      failures: () => o.storage.failures(),
      outbox: o.store.outbox,
      webhookCounts: () => o.webhooks.counts,
      node: o.cluster ? o.nodeId : undefined,
    });

    const v1 = Router();
    v1.use((_req, res, next) => {
      res.setHeader('Cache-Control', 'no-store');
      next();
    });
    const { open, guarded, root } = apiRoutes(o, admin, this.progress, () => this.metrics);
    mount(v1, open);
    v1.use(requireAdmin(o.auth));
    mount(v1, guarded);
    v1.use((req) => {
      throw new AppError('not_found', `${req.method} /api/v1${req.path} not found`, 404);
    });
    v1.use(apiErrorHandler(this.log));
    this.router.use('/api/v1', v1);

    const m = Router();
    mount(m, root.map((r) => ({ ...r, handlers: [requireAdmin(o.auth, { optional: () => o.settings.metrics.public, metrics: true }), ...r.handlers] })));
    m.use(apiErrorHandler(this.log));
    this.router.use(m);
  }

  /** The HTTP server's upgrade paths, which carry the events channel (before `start`). */
  attach(upgrades: UpgradeRoutes): void {
    this.upgrades = upgrades;
  }

  async start(): Promise<void> {
    await this.progress.start();
    if (this.upgrades) {
      this.channel = new EventsChannel({ upgrades: this.upgrades, events: this.o.events, auth: this.o.auth, catalog: this.o.store.catalog, cluster: this.o.cluster, log: this.o.log });
      await this.channel.start();
    }
  }

  async stop(): Promise<void> {
    await this.channel?.stop();
    await this.progress.stop();
  }
}
