/**
 * A typed event held as a field (`readonly onClose = new Signal<[string]>()`),
 * after werift's `Event`. `clear()` drops every listener, so `close()` methods
 * can leave nothing behind.
 */
export class Signal<Args extends unknown[]> {
  private readonly listeners = new Set<(...args: Args) => void>();

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: (...args: Args) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Calls every listener; one that throws does not stop the others. */
  emit(...args: Args): void {
    for (const l of [...this.listeners]) {
      try {
        l(...args);
      } catch {
        // A listener's failure is its own module's to log; the emitter must go on.
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }

  get size(): number {
    return this.listeners.size;
  }
}
