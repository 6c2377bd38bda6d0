/**
 * The applications and their current settings. Modules ask it for an app's
 * settings each time they need them, so a settings change applies to the next
 * stream without a restart.
 */
import type { AppSettings } from '../config/schema.js';
import { EventBus } from '../events/event-bus.js';
import type { Logger } from '../log/logger.js';

/** Read side of the registry, as most modules need it. */
export interface AppLookup {
  /** Current settings of an app, or undefined when there is no such app. */
  get(name: string): AppSettings | undefined;
  /** All apps. */
  list(): AppSettings[];
}

/** What the registry announces: an app's settings were replaced or added. */
export interface AppRegistryEvents {
  changed: { app: AppSettings; previous: AppSettings | undefined };
}

export class AppRegistry implements AppLookup {
  private readonly apps = new Map<string, AppSettings>();
  /** `changed` after each `put`; a failing listener is logged, never thrown to the caller of `put`. */
  readonly events: EventBus<AppRegistryEvents>;

  constructor(initial: readonly AppSettings[], log?: Logger) {
    this.events = new EventBus<AppRegistryEvents>(log);
    for (const a of initial) this.apps.set(a.name, a);
  }

  get(name: string): AppSettings | undefined {
    return this.apps.get(name);
  }

  list(): AppSettings[] {
    return [...this.apps.values()];
  }

  /** Replaces (or adds) an app's settings, already validated by the schema. */
  put(app: AppSettings): void {
    const previous = this.apps.get(app.name);
    this.apps.set(app.name, Object.freeze(app));
    void this.events.emit('changed', { app, previous });
  }

  /**
   * Removes an app; one already gone stays gone (on a shared store a node's own deletion can come back through the
   * settings sync and be applied before the deleting call returns). Callers that must find the app check first.
   */
  delete(name: string): void {
    this.apps.delete(name);
  }
}
