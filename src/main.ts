/**
 * Entry point: loads the configuration, builds every module, wires them, and
 * runs until SIGTERM/SIGINT. Only this file knows every concrete class.
 *
 * Start order: storage (upload queue), auth (the admin account), webhooks,
 * the API's events channel, recordings (recovery of a previous run), HTTP,
 * RTMP, WHIP. Stop order, the reverse: refuse new publishers, close them,
 * finalize every recording (queued for upload), close the events channel,
 * stop webhooks, close HTTP, stop uploading and close the store, and last remove the listeners
 * added here (kept in `subs`). A second signal exits at once
 * (anything unfinished is finalized and uploaded after the next start).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { privateDir } from './db/private-files.js';
import { pathToFileURL } from 'node:url';
import { loadConfig, readAdminPassword, readSecretKey } from './config/load.js';
import type { Config } from './config/schema.js';
import { createLogger, type Logger } from './log/logger.js';
import { AppError, errorMessage } from './errors.js';
import { EventBus } from './events/event-bus.js';
import { Subscriptions } from './events/subscriptions.js';
import type { BusEvents } from './events/types.js';
import { AppRegistry } from './apps/app-registry.js';
import { StreamRegistry } from './ingest/stream-registry.js';
import type { PublisherSession, PublishRequest } from './ingest/types.js';
import { BasicPublishAuthorizer } from './ingest/publish-authorizer.js';
import { RtmpServer } from './ingest/rtmp/rtmp-server.js';
import { WhipServer } from './ingest/whip/whip-server.js';
import { DataLayout } from './recording/layout.js';
import { RecordingManager } from './recording/recording-manager.js';
import { HttpServer } from './http/http-server.js';
import { mediaRoutes } from './http/media-routes.js';
import { LocalFileIndex } from './http/local-file-index.js';
import { landingRoutes } from './http/landing.js';
import { Forwarding } from './forwarding/forwarding.js';
import { PlaybackGuard, playbackKeyPurpose } from './forwarding/playback-guard.js';
import { playerAssets } from './player/player-assets.js';
import { createStorage } from './storage/index.js';
import { nodeIdOf, openStore } from './db/index.js';
import { loadApps } from './apps/app-admin.js';
import { createAuth } from './auth/index.js';
import { sessionIdFrom } from './auth/http-auth.js';
import { Api } from './api/index.js';
import { Webhooks } from './webhooks/index.js';
import { DiskSpace } from './recording/disk-space.js';
import { EventLoopMonitor } from './health/event-loop.js';
import { sharedSpawner } from './process/spawner.js';
import { ConnectionLimiter } from './limits/connection-limiter.js';
import { publisherCaps } from './ingest/publisher-caps.js';
import { openPublishingWarning } from './apps/open-publishing.js';
import { Playback } from './playback/playback.js';
import { PublishClaims } from './cluster/publish-claims.js';
import { AppSettingsSync } from './cluster/settings-sync.js';
import { ClusterNodes, defaultInternalUrl } from './cluster/nodes.js';
import { SourceManager } from './sources/source-manager.js';
import { SourceStore } from './sources/source-store.js';
import { ImportManager } from './sources/imports.js';
import { sourceAuthorizer } from './sources/source-authorizer.js';

/** The running server, as `main` and tests see it. */
export interface Running {
  httpPort: number;
  rtmpPort: number;
  /** The RTMPS port, when RTMPS is on. */
  rtmpsPort?: number;
  /** Re-reads the RTMPS certificate and key (SIGHUP). */
  reloadTls(): void;
  stop(): Promise<void>;
}

/** For tests: `wired` is handed the observers modules listen on, once all are started (a test checks `stop()` leaves no listener on them). */
export interface StartOptions {
  wired?: (observers: { events: EventBus<BusEvents>; apps: AppRegistry; streams: StreamRegistry }) => void;
}

/** Builds, wires and starts every module. */
export async function startServer(config: Config, log: Logger, options: StartOptions = {}): Promise<Running> {
  const { server } = config;
  await checkBinary(server.ffmpegPath, 'ffmpeg');
  await checkBinary(server.ffprobePath, 'ffprobe');
  // The recorders' ffmpeg are started from a helper forked now, while this process is small (process/spawner.ts).
  sharedSpawner().start();

  const initialPassword = readAdminPassword();
  const secretKey = readSecretKey();
  const layout = new DataLayout(server.dataDir);
  if (!privateDir(layout.root)) log.warn({ dataDir: layout.root }, 'could not make the data dir private (mode 0700): it holds the database and recordings');
  const keyFile = secretKey ? secretKey.file : path.join(layout.root, 'secret.key');
  if (keyFile && !path.relative(layout.root, keyFile).startsWith('..')) {
    log.warn({ keyFile }, 'the key that encrypts stored secrets is in the data dir beside the database: a backup of the data dir holds both; keep it elsewhere with BUCKETCAST_SECRET_KEY_FILE');
  }
  // The store first: applications saved through the API override the config file's (see src/apps/app-admin.ts).
  const store = await openStore({ config, secretKey: secretKey?.material, log });
  const loaded = await loadApps(config.applications.map(({ sources: _sources, ...a }) => a), store.appSettings, log);
  const apps = new AppRegistry(loaded.apps, log.child({ module: 'apps' }));
  // The listeners added here; `stop()` removes them, last added first.
  const subs = new Subscriptions();
  for (const a of apps.list()) layout.ensureApp(a.name);
  subs.add(apps.events.on('changed', ({ app }) => layout.ensureApp(app.name)));
  // Several nodes on one database: an app saved or deleted through another node is applied here too.
  const settingsSync = store.appSettings.watch ? new AppSettingsSync({ store: store.appSettings, registry: apps, saved: loaded.saved, log }) : undefined;

  const events = new EventBus<BusEvents>(log.child({ module: 'events' }));
  const disk = new DiskSpace({ dir: layout.root, minFreeBytes: server.minFreeDiskMiB * 1024 * 1024, log });
  const loop = new EventLoopMonitor();
  // Several nodes on one database (PostgreSQL): one publisher per stream id across all of them.
  const claims = store.streamClaims ? new PublishClaims({ claims: store.streamClaims, nodeId: nodeIdOf(config), log }) : undefined;
  const security = createAuth({ store, apps, settings: config.api, initialPassword, dataDir: layout.root, log });
  const { limits } = server;
  const onRefused = (kind: string, scope: string) => api.metrics.onRefused(kind, scope);
  const limiter = (kind: string, max: number, maxPerIp: number) => new ConnectionLimiter({ kind, max, maxPerIp, log, onRefused });
  // Sources and imports publish with requests of their own making (in `trusted`): no publish credential for those.
  const trusted = new WeakSet<PublishRequest>();
  const registry: StreamRegistry = new StreamRegistry({
    authorizer: sourceAuthorizer({ trusted, basic: new BasicPublishAuthorizer({ apps }), full: new BasicPublishAuthorizer({ apps, next: security.publishAuthorizer }) }),
    log: log.child({ module: 'ingest' }),
    admission: (req) => {
      const reason = disk.refusal();
      if (reason) return { ok: false, code: 'insufficient_storage', reason };
      // A source's far end is not a client: many cameras behind one recorder address must not hit the per-address cap.
      return publisherCaps(req, registry.list(), apps.get(req.app)?.maxPublishers ?? 0, trusted.has(req) ? 0 : limits.publishersPerIp, onRefused);
    },
    cluster: claims,
  });
  // Storage catalogs and queues every finished recording, webhooks store their deliveries (both listening before recovery announces any).
  const storage = createStorage({ config, apps, events, store, log });
  const webhooks = new Webhooks({ events, apps, outbox: store.outbox, catalog: store.catalog, settings: config.api, nodeId: nodeIdOf(config), log });
  const nodeId = nodeIdOf(config);
  const reservations = { reserve: (app: string, name: string) => store.recordingNames.reserve(app, name, nodeId), nodeId };
  const recordings = new RecordingManager({ layout, apps, ffmpegPath: server.ffmpegPath, ffprobePath: server.ffprobePath, events, log, disk, reservations });

  // Where a source's or an import's recordings go when it names an `output` (issue 18).
  const outputs = { book: () => storage.destinations.book, credentials: () => store.credentials };
  const sources = new SourceManager({
    configured: config.applications.map((a) => ({ app: a.name, sources: a.sources })),
    store: new SourceStore(layout.root, store.deriveKey('sources/url')),
    apps,
    events,
    ffmpegPath: server.ffmpegPath,
    registry,
    trusted,
    bindHost: server.host,
    maxBackoffMs: 15_000,
    stallMs: 15_000,
    onDemandIdleMs: 60_000,
    outputs,
    log,
  });
  const imports = new ImportManager({ ffmpegPath: server.ffmpegPath, registry, trusted, apps, events, outputs, log });

  const sessionOf = (s: PublisherSession) => ({ app: s.app, streamId: s.streamId, protocol: s.protocol, sessionId: s.id, remoteAddress: s.remoteAddress, startedAt: s.startedAt.toISOString() });
  subs.add(
    registry.events.on('published', (s) => {
      recordings.record(s);
      void events.emit('stream.started', sessionOf(s));
    }),
  );
  subs.add(
    registry.events.on('unpublished', ({ session: s, reason }) => {
      void events.emit('stream.ended', { ...sessionOf(s), endedAt: new Date().toISOString(), reason });
    }),
  );
  subs.add(
    registry.events.on('refused', ({ request: req, code, reason }) => {
      void events.emit('stream.refused', { app: req.app, streamId: req.streamId, protocol: req.protocol, remoteAddress: req.remoteAddress, code, reason, refusedAt: new Date().toISOString() });
    }),
  );

  const warnings = () => [openPublishingWarning(server.host, apps.list())].filter((w) => w !== null);
  // Viewing keys by HKDF from the server key: none at rest, and rotating the server key ends every viewing token.
  // Several nodes on one database: heartbeats, files on a peer's disk, kicks relayed to the node holding the publisher.
  const cluster =
    store.nodes && store.streamClaims
      ? new ClusterNodes({
          nodes: store.nodes,
          claims: store.streamClaims,
          catalog: store.catalog,
          names: store.recordingNames,
          nodeId,
          liveStreams: () => registry.list().length,
          kickLocal: async (app, streamId) => {
            const s = registry.get(app, streamId);
            if (!s) return undefined;
            s.close('kicked');
            await s.closed;
            return s.id;
          },
          log,
        })
      : undefined;
  const playback = new PlaybackGuard({ apps, keyFor: (app, generation) => store.deriveKey(playbackKeyPurpose(app, generation)) });
  const api = new Api({ playback, ...security, settings: config.api, store, apps, savedApps: loaded.saved, events, streams: registry, recordings, storage, webhooks, sources, imports, rtmpPort: () => rtmp.port, warnings, nodeId, cluster, log });
  const forwarding = new Forwarding({
    apps,
    log,
    locator: storage.objects,
    signer: storage.objects,
    localObjects: storage.objects,
    events,
    guard: playback,
    onResponse: api.metrics.onForwardingResponse,
  });
  const localFiles = new LocalFileIndex({ log: log.child({ module: 'http' }) });
  const whip = config.whip.enabled ? new WhipServer({ settings: config.whip, registry, log, limits: limiter('whip', limits.whipSessions, limits.whipSessionsPerIp) }) : undefined;
  const timeRange = new Playback({
    index: store.catalog,
    reader: {
      readUrl: async (app, bucket, key) => storage.objects.localPath(app, bucket, key) ?? storage.objects.presign({ app, bucket, key, method: 'GET', expiresSeconds: 600 }),
    },
    apps,
    ffmpegPath: server.ffmpegPath,
    dataDir: layout.root,
    maxSeconds: server.playbackMaxDurationSeconds,
    guard: playback.middleware(),
    log,
  });
  const http = new HttpServer({
    host: server.host,
    port: server.httpPort,
    headersTimeoutMs: server.httpHeadersTimeoutSeconds * 1000,
    trustProxy: server.trustProxy as boolean | number | string | string[],
    playerFrameAncestors: [...server.playerFrameAncestors],
    isAdmin: async (req) => (await security.auth.authenticate({ authorization: req.get('authorization'), sessionId: sessionIdFrom(req.headers) })).ok,
    connections: limiter('http', limits.httpConnections, limits.httpConnectionsPerIp),
    log,
    routers: [api.router, ...(whip ? [whip.router] : []), timeRange.router, playerAssets(), landingRoutes({ rtmpPort: () => rtmp.port, rtmpsPort: () => rtmps?.port, whip: !!whip })],
    fastRoutes: [
      mediaRoutes({
        apps,
        layout,
        index: localFiles,
        livePlaylist: (app, id) => {
          sources.touch(app, id);
          return recordings.livePlaylist(app, id);
        },
        policy: forwarding.policy,
        access: forwarding.access,
        missing: cluster ? cluster.peerFiles(forwarding.missing, (f) => forwarding.inBucket(f.app, f.folder, f.file)) : forwarding.missing,
      }),
    ],
    health: () => ({
      liveStreams: registry.list().length,
      recording: recordings.list().length,
      awaitingFinalization: recordings.pendingCount(),
      draining: registry.isDraining,
      disk: disk.figures(),
      eventLoopDelay: loop.read(),
      memory: loop.memory(),
    }),
  });
  // RTMP and RTMPS share one connection cap.
  const rtmpConnections = limiter('rtmp', limits.rtmpConnections, limits.rtmpConnectionsPerIp);
  const listener = { host: server.host, idleTimeoutMs: server.rtmpIdleTimeoutSeconds * 1000 };
  const rtmp = new RtmpServer({ settings: { ...listener, port: server.rtmpPort }, registry, log, limits: rtmpConnections });
  const rtmps =
    server.rtmpsPort === undefined
      ? null
      : new RtmpServer({
          settings: { ...listener, port: server.rtmpsPort, tls: { certFile: server.tlsCertFile!, keyFile: server.tlsKeyFile! } },
          registry,
          log,
          limits: rtmpConnections,
        });
  api.attach(http.upgrades);

  loop.start();
  await storage.start();
  await security.auth.start();
  await webhooks.start();
  await api.start();
  await timeRange.start();
  await recordings.start();
  await forwarding.start();
  await claims?.start();
  await settingsSync?.start();
  await http.start();
  await cluster?.start(server.internalUrl ?? defaultInternalUrl(server.host, http.port));
  await rtmp.start();
  await rtmps?.start();
  await whip?.start();
  await imports.start();
  await sources.start();
  options.wired?.({ events, apps, streams: registry });
  for (const w of warnings()) log.warn({ code: w.code, apps: w.apps }, w.message);
  log.info({ httpPort: http.port, rtmpPort: rtmp.port, rtmpsPort: rtmps?.port, dataDir: layout.root, applications: apps.list().map((a) => a.name) }, 'bucketcast ready');

  return {
    httpPort: http.port,
    rtmpPort: rtmp.port,
    rtmpsPort: rtmps?.port,
    reloadTls: () => rtmps?.reloadTls(),
    async stop() {
      registry.drain();
      recordings.drain();
      await Promise.all([sources.stop(), imports.stop()]);
      await Promise.all([rtmp.stop(), rtmps?.stop()]);
      await whip?.stop();
      await cluster?.stop();
      await recordings.stop();
      await api.stop();
      await webhooks.stop();
      await security.auth.stop();
      // HTTP answers from the catalog and the (embedded) bucket until it is closed: close it first.
      await http.stop();
      await localFiles.stop();
      await timeRange.stop();
      await forwarding.stop();
      await settingsSync?.stop();
      await claims?.stop();
      await storage.stop();
      loop.stop();
      // Last: publishers closed during stop still announce `stream.ended` through these.
      subs.clear();
    },
  };
}

async function checkBinary(bin: string, name: string): Promise<void> {
  try {
    await promisify(execFile)(bin, ['-version']);
  } catch (err) {
    throw new AppError('dependency_missing', `${name} not found or not working at "${bin}" (${errorMessage(err)}); install it (Debian: apt-get install -y ffmpeg) or set server.${name}Path`);
  }
}

async function main(): Promise<void> {
  let loaded;
  try {
    loaded = loadConfig();
  } catch (err) {
    process.stderr.write(`bucketcast: ${errorMessage(err)}\n`);
    process.exit(2);
  }
  const { config } = loaded;
  const log = createLogger(config.server.logLevel);
  // Node's warnings (e.g. the AWS SDK's notice about Node versions) go to the log as JSON, not raw stderr.
  process.removeAllListeners('warning');
  process.on('warning', (w) => log.warn({ warning: w.name, err: w.message }, 'node warning'));
  if (loaded.unknownEnv.length) log.warn({ variables: loaded.unknownEnv }, 'unknown BUCKETCAST_ environment variables ignored');
  log.info({ configFile: loaded.file }, 'configuration loaded');

  process.on('uncaughtException', (err) => {
    log.fatal({ err: err.message, stack: err.stack }, 'uncaught exception, exiting (recordings in progress are finalized at next start)');
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => log.error({ err: errorMessage(err) }, 'unhandled rejection'));

  let running: Running;
  try {
    running = await startServer(config, log);
  } catch (err) {
    log.fatal({ err: errorMessage(err) }, 'start-up failed');
    process.exit(1);
  }

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      log.warn({ signal }, 'second signal, exiting now');
      process.exit(130);
    }
    log.info({ signal }, 'shutting down: refusing new publishers, finalizing recordings');
    const deadline = setTimeout(() => {
      log.error('shutdown took too long, exiting');
      process.exit(1);
    }, config.server.shutdownTimeoutSeconds * 1000);
    deadline.unref();
    running.stop().then(
      () => {
        log.info('shutdown complete');
        process.exit(0);
      },
      (err) => {
        log.error({ err: errorMessage(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // SIGHUP: a renewed RTMPS certificate is picked up without a restart (running publishers keep their session).
  process.on('SIGHUP', () => running.reloadTls());
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void main();
