/**
 * Every app's sources: those of the config file (`applications[].sources`,
 * read-only through the API) and those added through the API (kept sealed in
 * `<dataDir>/sources.json`, see source-store.ts). One runner per source.
 */
import { z } from 'zod';
import type { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../log/logger.js';
import type { AppLookup } from '../apps/app-registry.js';
import type { EventBus } from '../events/event-bus.js';
import type { BusEvents } from '../events/types.js';
import { sourceSettings, type SourceSettings } from '../config/sources-schema.js';
import { AppError, ValidationError } from '../errors.js';
import { maskUrl, sourceKind, isKind } from '../config/source-url.js';
import { protocolOf } from './ffmpeg-input.js';
import { SourceRunner, type RunnerDeps, type SourceDef } from './source-runner.js';
import type { SourceStore } from './source-store.js';
import type { CredentialStore } from '../db/types.js';
import type { DestinationBook } from '../storage/destinations/book.js';
import { ruleSpec } from '../storage/destinations/book.js';
import { describeDestination, type DestinationSpec } from '../storage/destinations/output.js';
import { checkOutput } from '../storage/destinations/output.js';

export interface SourceManagerOptions extends Omit<RunnerDeps, 'onState' | 'outputs'> {
  /** `applications[].sources` of the config file, by app. */
  configured: Array<{ app: string; sources: SourceSettings[] }>;
  store: SourceStore;
  apps: AppLookup;
  events: EventBus<BusEvents>;
  /** Where a source's recordings go (its `output`, issue 18): the storage module's book, and the stored credentials an output may name. */
  outputs?: { book(): DestinationBook | undefined; credentials(): CredentialStore | undefined };
}

/** A source as the API shows it: the URL masked, its state. */
export interface SourceView {
  app: string;
  streamId: string;
  url: string | null;
  kind: string | null;
  protocol: string | null;
  enabled: boolean;
  onDemand: boolean;
  rtspTransport: 'tcp' | 'udp';
  origin: 'config' | 'api';
  state: string;
  lastError: string | null;
  since: string;
  nextAttemptAt: string | null;
  sessionId: string | null;
  /** Where its recordings go, without any key or signature; null: the app's destination rules, else its bucket. */
  output: Record<string, unknown> | null;
}

const patchSchema = sourceSettings.pick({ url: true, enabled: true, onDemand: true, rtspTransport: true }).partial();

export class SourceManager implements Lifecycle {
  private readonly runners = new Map<string, SourceRunner>();
  private started = false;

  constructor(private readonly o: SourceManagerOptions) {}

  async start(): Promise<void> {
    for (const { app, sources } of this.o.configured) for (const s of sources) this.add({ ...s, app, origin: 'config', output: s.output ? ruleSpec({ streamId: s.streamId, ...s.output }) : undefined });
    for (const s of this.o.store.list()) {
      if (this.runners.has(key(s.app, s.streamId))) {
        this.o.log.warn({ app: s.app, streamId: s.streamId }, 'a source saved through the API has the stream id of one in the config file: the config file wins');
        continue;
      }
      this.add({ ...s, origin: 'api' });
    }
    this.started = true;
    for (const r of this.runners.values()) r.start();
  }

  async stop(): Promise<void> {
    this.started = false;
    await Promise.all([...this.runners.values()].map((r) => r.stop('shutdown')));
  }

  private add(def: SourceDef): SourceRunner {
    const r = new SourceRunner(def, { ...this.o, outputs: { book: () => this.o.outputs?.book() }, onState: (x) => this.announce(x) });
    this.runners.set(key(def.app, def.streamId), r);
    return r;
  }

  private announce(r: SourceRunner): void {
    void this.o.events.emit('source.state', { app: r.def.app, streamId: r.def.streamId, state: r.state, lastError: r.lastError, at: r.since.toISOString() });
  }

  list(app: string): SourceView[] {
    return [...this.runners.values()].filter((r) => r.def.app === app).map(view);
  }

  get(app: string, streamId: string): SourceView {
    return view(this.runner(app, streamId));
  }

  private runner(app: string, streamId: string): SourceRunner {
    const r = this.runners.get(key(app, streamId));
    if (!r) throw new AppError('source_not_found', `no source "${streamId}" in application "${app}"`, 404);
    return r;
  }

  /** Adds a source through the API. */
  async create(app: string, body: unknown): Promise<SourceView> {
    this.requireApp(app);
    const { rest, output } = splitOutput(body);
    const s = parse(sourceSettings, rest);
    if (this.runners.has(key(app, s.streamId))) throw new AppError('source_exists', `application "${app}" already has a source "${s.streamId}"`, 409);
    this.checkPort(s.url, null);
    const spec = output === undefined || output === null ? undefined : await this.checkOutput(output);
    const r = this.add({ ...s, app, origin: 'api', output: spec });
    this.persist();
    if (this.started) r.start();
    return view(r);
  }

  /** Changes a source added through the API (its runner restarts with the new settings). */
  async update(app: string, streamId: string, body: unknown): Promise<SourceView> {
    const old = this.runner(app, streamId);
    if (old.def.origin === 'config') throw new AppError('source_in_config', `source "${streamId}" comes from the config file: change it there`, 409);
    const { rest, output } = splitOutput(body);
    const patch = parse(patchSchema, rest);
    const def: SourceDef = { ...old.def, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) };
    if (patch.url !== undefined) this.checkPort(patch.url, old);
    // `output: null` removes it (the app's rules, else its bucket); absent keeps it.
    if (output !== undefined) def.output = output === null ? undefined : await this.checkOutput(output);
    await old.stop('source changed');
    const r = this.add(def);
    this.persist();
    if (this.started) r.start();
    return view(r);
  }

  async remove(app: string, streamId: string): Promise<void> {
    const r = this.runner(app, streamId);
    if (r.def.origin === 'config') throw new AppError('source_in_config', `source "${streamId}" comes from the config file: remove it there`, 409);
    this.runners.delete(key(app, streamId));
    this.persist();
    await r.stop('source removed');
  }

  /** Sources whose `output` names the stored credential `sid`. */
  usingCredential(sid: string): Array<{ app: string; streamId: string }> {
    return [...this.runners.values()]
      .filter((r) => r.def.output?.kind === 's3' && r.def.output.credential.source === 'stored' && r.def.output.credential.credentialId === sid)
      .map((r) => ({ app: r.def.app, streamId: r.def.streamId }));
  }

  /** A viewer asked for a stream's live playlist: an on-demand source of that id starts or stays up. */
  touch(app: string, streamId: string): void {
    this.runners.get(key(app, streamId))?.touch();
  }

  /** One SRT listener per port, over every app. */
  private checkPort(url: string, except: SourceRunner | null): void {
    const port = listenerPortOf(url);
    if (port === null) return;
    const other = [...this.runners.values()].find((r) => r !== except && r.def.url !== null && listenerPortOf(r.def.url) === port);
    if (other) throw new AppError('port_in_use', `SRT port ${port} is already the listener of source "${other.def.streamId}" (application "${other.def.app}")`, 409);
  }

  /**
   * A source's `output`: any form a recording started by hand takes but a
   * pre-signed PUT URL — a source makes a new recording at each reconnection
   * and a pre-signed URL takes one object, so later ones would overwrite it.
   */
  private async checkOutput(value: unknown): Promise<DestinationSpec> {
    const spec = await checkOutput(value, this.o.outputs?.credentials());
    if (spec.kind === 'presigned-put') {
      throw new ValidationError([{ path: 'output', message: 'a source records again at each reconnection and a pre-signed PUT URL takes one object: give an s3:// destination ({ "url": "s3://…", "auth" | "credential" })' }], 'output_invalid');
    }
    if (!this.o.outputs?.book()) throw new AppError('storage_unavailable', 'storage is not running: no output can be taken', 503);
    return spec;
  }

  private requireApp(app: string): void {
    if (!this.o.apps.get(app)) throw new AppError('app_not_found', `no application "${app}"`, 404);
  }

  private persist(): void {
    const rows = [...this.runners.values()]
      .filter((r) => r.def.origin === 'api' && r.def.url !== null)
      .map((r) => ({ app: r.def.app, streamId: r.def.streamId, url: r.def.url!, enabled: r.def.enabled, onDemand: r.def.onDemand, rtspTransport: r.def.rtspTransport, output: r.def.output ?? undefined }));
    this.o.store.save(rows);
  }
}

function view(r: SourceRunner): SourceView {
  const { def } = r;
  const k = def.url === null ? null : sourceKind(def.url);
  return {
    app: def.app,
    streamId: def.streamId,
    url: def.url === null ? null : maskUrl(def.url),
    kind: k && isKind(k) ? k : null,
    protocol: k && isKind(k) ? protocolOf(k) : null,
    enabled: def.enabled,
    onDemand: def.onDemand,
    rtspTransport: def.rtspTransport,
    origin: def.origin,
    state: r.state,
    lastError: r.lastError,
    since: r.since.toISOString(),
    nextAttemptAt: r.nextAttemptAt?.toISOString() ?? null,
    sessionId: r.state === 'live' ? (r.session?.id ?? null) : null,
    output: def.output ? describeDestination(def.output) : null,
  };
}

/** The body without its `output` (checked apart: its forms are not the config file's). */
function splitOutput(body: unknown): { rest: unknown; output: unknown } {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !('output' in body)) return { rest: body, output: undefined };
  const { output, ...rest } = body as Record<string, unknown>;
  return { rest, output };
}

function parse<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ValidationError([{ path: '', message: 'the body must be a JSON object' }]);
  const r = schema.safeParse(body);
  if (!r.success) throw new ValidationError(r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  return r.data;
}

function listenerPortOf(url: string): number | null {
  if (sourceKind(url) !== 'srt-listener') return null;
  return Number(new URL(url.replace(/^srt:\/\/:(\d+)/i, 'srt://0.0.0.0:$1')).port);
}

function key(app: string, streamId: string): string {
  return `${app}/${streamId}`;
}
