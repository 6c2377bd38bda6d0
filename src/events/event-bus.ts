/**
 * A typed event bus between modules. Listeners may be async; `emit` awaits all
 * of them so a producer knows its event was handled (e.g. a recording is only
 * forgotten once the upload queue has stored it).
 */
import type { Logger } from '../log/logger.js';
import { errorMessage } from '../errors.js';

type Listener<T> = (payload: T) => void | Promise<void>;

export class EventBus<Events extends { [K in keyof Events]: unknown }> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();

  constructor(private readonly log?: Logger) {}

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof Events>(name: K, listener: Listener<Events[K]>): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => void set.delete(listener as Listener<never>);
  }

  /**
   * Calls every listener and waits for all of them. Resolves true when every
   * listener succeeded; a failing listener is logged, never thrown to the producer.
   */
  async emit<K extends keyof Events>(name: K, payload: Events[K]): Promise<boolean> {
    const set = this.listeners.get(name);
    if (!set || set.size === 0) return true;
    const results = await Promise.allSettled([...set].map(async (l) => (l as Listener<Events[K]>)(payload)));
    let ok = true;
    for (const r of results) {
      if (r.status === 'rejected') {
        ok = false;
        this.log?.error({ event: String(name), err: errorMessage(r.reason) }, 'event listener failed');
      }
    }
    return ok;
  }

  /** Number of listeners for an event, or for every event without a name (used by tests to check stop() removed them). */
  listenerCount(name?: keyof Events): number {
    if (name !== undefined) return this.listeners.get(name)?.size ?? 0;
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }
}
