/**
 * Applications changed at run time (the admin API): created, replaced,
 * patched and deleted, validated by the same schema as the config file, saved
 * in the store and applied through the registry (whose `changed` listeners —
 * storage, forwarding — react at once; every other module looks settings up
 * per stream).
 *
 * How the config file and the API combine, per app name: an app the API saved
 * replaces the file's app of that name entirely (later edits of that app in
 * the file are ignored, with a warning at start); an app the API deleted
 * stays deleted even if the file still lists it; every other file app is
 * used as the file says. So the file seeds apps and the API owns them from
 * its first change on.
 */
import { appSettings, type AppSettings } from '../config/schema.js';
import { fieldProblems } from '../config/issues.js';
import { AppError, ValidationError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { AppSettingsStore } from '../db/admin-types.js';
import type { AppRegistry } from './app-registry.js';

/** Loads the apps the server starts with: the file's, with the API's saved changes applied; `saved` names those the API owns. */
export async function loadApps(fileApps: readonly AppSettings[], store: AppSettingsStore, log: Logger): Promise<{ apps: AppSettings[]; saved: Set<string> }> {
  const all = await store.list();
  for (const p of all.filter((x) => x.unreadable)) {
    log.error({ app: p.name, err: p.unreadable }, 'saved settings of an application cannot be read; using the config file (if it has the app)');
  }
  const saved = new Map(all.filter((p) => !p.unreadable).map((p) => [p.name, p]));
  const out: AppSettings[] = [];
  const overridden: string[] = [];
  const deleted: string[] = [];
  const parse = (name: string, raw: unknown): AppSettings | undefined => {
    const r = appSettings.safeParse(raw);
    if (r.success) return r.data;
    // A saved app that this version's schema refuses (e.g. after a downgrade) must not stop the server.
    log.error({ app: name, problems: fieldProblems(r.error.issues) }, 'saved settings of an application are not valid any more; using the config file (if it has the app)');
    return undefined;
  };
  for (const f of fileApps) {
    const p = saved.get(f.name);
    if (!p) {
      out.push(f);
      continue;
    }
    if (p.settings === null) {
      deleted.push(f.name);
      continue;
    }
    const app = parse(f.name, p.settings);
    out.push(app ?? f);
    if (app && JSON.stringify(app) !== JSON.stringify(f)) overridden.push(f.name);
  }
  for (const p of saved.values()) {
    if (p.settings === null || fileApps.some((f) => f.name === p.name)) continue;
    const app = parse(p.name, p.settings);
    if (app) out.push(app);
  }
  if (overridden.length) log.warn({ applications: overridden }, 'settings changed through the API override the config file for these applications');
  if (deleted.length) log.warn({ applications: deleted }, 'applications deleted through the API are ignored in the config file');
  return { apps: out, saved: new Set([...saved.values()].filter((p) => p.settings !== null).map((p) => p.name)) };
}

export interface AppAdminOptions {
  /** Where current settings live; `put` applies a change at once. */
  registry: AppRegistry;
  /** Where changes are saved. */
  store: AppSettingsStore;
  /** Called after an app was deleted (its stream keys and secrets go with it). */
  onDeleted?: (name: string) => Promise<void>;
  /** Refuses to delete an app while it has live streams; returns how many. */
  liveStreams: (app: string) => number;
  /** Names of the apps whose settings the API saved (from `loadApps`). */
  saved: Set<string>;
  log: Logger;
}

export class AppAdmin {
  constructor(private readonly o: AppAdminOptions) {}

  /** Where an app's settings come from: the config file, or the API (saved in the store). */
  source(name: string): 'config' | 'api' {
    return this.o.saved.has(name) ? 'api' : 'config';
  }

  /** Adds an app; 409 when the name is taken. */
  async create(input: unknown): Promise<AppSettings> {
    const name = isObject(input) && typeof input.name === 'string' ? input.name : undefined;
    if (name && this.o.registry.get(name)) throw new AppError('app_exists', `application "${name}" already exists`, 409);
    return this.save(validate(stripReadOnly(input)), 'created');
  }

  /** Replaces an app's settings (omitted keys take their defaults; webhooks keep their secret by URL). */
  async replace(name: string, input: unknown): Promise<AppSettings> {
    const current = this.require(name);
    if (!isObject(input)) throw new ValidationError([{ path: '', message: 'must be a JSON object of application settings' }]);
    const body = withWebhookSecrets(stripReadOnly({ ...input }), current);
    checkName(body, name);
    return this.save(validate({ ...body, name }), 'replaced');
  }

  /** Applies a JSON merge patch (RFC 7386: objects merge, `null` removes a key so its default applies, arrays replace). */
  async patch(name: string, patch: unknown): Promise<AppSettings> {
    return this.save(this.preview(name, patch), 'updated');
  }

  /** The settings a patch would give, validated but neither saved nor applied (e.g. to test storage first). */
  preview(name: string, patch: unknown): AppSettings {
    const current = this.require(name);
    if (!isObject(patch)) throw new ValidationError([{ path: '', message: 'must be a JSON object (a merge patch of the settings)' }]);
    const body = stripReadOnly({ ...patch });
    checkName(body, name);
    return validate(mergePatch(JSON.parse(JSON.stringify(current)) as unknown, withWebhookSecrets(body, current)));
  }

  /** Deletes an app; 409 while it has live streams. */
  async delete(name: string): Promise<void> {
    this.require(name);
    const live = this.o.liveStreams(name);
    if (live > 0) throw new AppError('app_busy', `application "${name}" has ${live} live stream(s); stop or kick them first`, 409);
    await this.o.store.markDeleted(name);
    this.o.saved.delete(name);
    this.o.registry.delete(name);
    await this.o.onDeleted?.(name);
    this.o.log.info({ app: name }, 'application deleted');
  }

  private require(name: string): AppSettings {
    const app = this.o.registry.get(name);
    if (!app) throw new AppError('app_not_found', `no application "${name}"`, 404);
    return app;
  }

  private async save(app: AppSettings, what: string): Promise<AppSettings> {
    // Saved first: a change the store did not take is not applied either.
    await this.o.store.put(app.name, app);
    this.o.saved.add(app.name);
    this.o.registry.put(app);
    this.o.log.info({ app: app.name }, `application ${what}`);
    return this.o.registry.get(app.name)!;
  }
}

function validate(input: unknown): AppSettings {
  const r = appSettings.safeParse(input);
  if (!r.success) throw new ValidationError(fieldProblems(r.error.issues));
  return r.data;
}

function checkName(body: Record<string, unknown>, name: string): void {
  if (body.name !== undefined && body.name !== name) {
    throw new ValidationError([{ path: 'name', message: `cannot be changed (it is "${name}"); create a new application instead` }]);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Drops the read-only fields the API adds to its answers (`hasSecret` of webhooks), so an answer can be sent back as is. */
function stripReadOnly<T>(input: T): T {
  if (!isObject(input) || !Array.isArray(input.webhooks)) return input;
  return { ...input, webhooks: input.webhooks.map((w) => (isObject(w) ? Object.fromEntries(Object.entries(w).filter(([k]) => k !== 'hasSecret')) : w)) };
}

/** A webhook sent without `secret` keeps the secret of the current webhook with the same URL. */
function withWebhookSecrets(body: Record<string, unknown>, current: AppSettings): Record<string, unknown> {
  if (!Array.isArray(body.webhooks)) return body;
  const secrets = new Map(current.webhooks.map((w) => [w.url, w.secret]));
  const webhooks = body.webhooks.map((w) => (isObject(w) && w.secret === undefined && typeof w.url === 'string' && secrets.has(w.url) ? { ...w, secret: secrets.get(w.url) } : w));
  return { ...body, webhooks };
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}
