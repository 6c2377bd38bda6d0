/**
 * Applies application settings that another node saved or deleted: the
 * store announces each change (PostgreSQL `LISTEN/NOTIFY`), and this node
 * reads the app back and puts it in its registry, whose `changed` listeners
 * (storage, forwarding) react as they do to a change made here. Changes are
 * applied one at a time, each from the database's current row, so a slow read
 * can never apply an older version over a newer one. After a lost connection
 * every saved app is read again (notifications sent meanwhile are gone).
 */
import { appSettings } from '../config/schema.js';
import { fieldProblems } from '../config/issues.js';
import { errorMessage } from '../errors.js';
import type { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../log/logger.js';
import type { AppRegistry } from '../apps/app-registry.js';
import type { AppSettingsStore, PersistedApp } from '../db/admin-types.js';

export class AppSettingsSync implements Lifecycle {
  private listening?: { close(): Promise<void> };
  private chain: Promise<void> = Promise.resolve();
  private readonly log: Logger;

  constructor(
    private readonly o: {
      /** The shared store; must support `watch`. */
      store: AppSettingsStore;
      registry: AppRegistry;
      /** Names of the apps the API owns (shared with the admin API, see `loadApps`). */
      saved: Set<string>;
      log: Logger;
    },
  ) {
    this.log = o.log.child({ module: 'cluster' });
  }

  async start(): Promise<void> {
    if (!this.o.store.watch) return;
    this.listening = await this.o.store.watch(
      (name) => this.enqueue(name),
      (message) => this.log.warn({ err: message }, 'lost the database connection that announces settings changes; reconnecting'),
    );
    // A change saved between loading the apps at start-up and listening now would be missed: read them all once.
    this.enqueue(null);
  }

  async stop(): Promise<void> {
    const l = this.listening;
    this.listening = undefined;
    await l?.close();
    await this.chain;
  }

  /** Resolves once every change announced so far is applied (tests). */
  settled(): Promise<void> {
    return this.chain;
  }

  private enqueue(name: string | null): void {
    this.chain = this.chain.then(() => this.apply(name)).catch((err) => this.log.error({ app: name, err: errorMessage(err) }, 'could not apply an application change made on another node'));
  }

  private async apply(name: string | null): Promise<void> {
    const all = await this.o.store.list();
    for (const p of all) if (name === null || p.name === name) this.applyOne(p);
  }

  private applyOne(p: PersistedApp): void {
    const current = this.o.registry.get(p.name);
    if (p.unreadable) {
      this.log.error({ app: p.name, err: p.unreadable }, 'settings another node saved cannot be read here (is BUCKETCAST_SECRET_KEY the same on every node?)');
      return;
    }
    if (p.settings === null) {
      this.o.saved.delete(p.name);
      if (!current) return;
      this.o.registry.delete(p.name);
      this.log.info({ app: p.name }, 'application deleted on another node');
      return;
    }
    const r = appSettings.safeParse(p.settings);
    if (!r.success) {
      this.log.error({ app: p.name, problems: fieldProblems(r.error.issues) }, 'settings another node saved are not valid here; keeping the current ones');
      return;
    }
    this.o.saved.add(p.name);
    // This node's own changes come back too: applying what it already has would only wake listeners for nothing.
    if (current && JSON.stringify(current) === JSON.stringify(r.data)) return;
    this.o.registry.put(r.data);
    this.log.info({ app: p.name }, current ? 'application changed on another node' : 'application created on another node');
  }
}
