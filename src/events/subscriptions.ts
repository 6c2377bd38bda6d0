/**
 * The listeners one owner added, kept so it can remove them all when it stops:
 * `subs.add(bus.on(...))` at start, `subs.clear()` in stop (last added first).
 */
export class Subscriptions {
  private readonly removers: Array<() => void> = [];

  /** Keeps the remover an `EventBus.on` returned. */
  add(remove: () => void): void {
    this.removers.push(remove);
  }

  /** Removes every listener added, in reverse order. */
  clear(): void {
    for (const remove of this.removers.splice(0).reverse()) remove();
  }

  /** Listeners still kept. */
  get size(): number {
    return this.removers.length;
  }
}
