/**
 * At most `size` tasks at once; the others wait their turn in order. Used
 * where a burst would otherwise run at once on the event loop — sixteen
 * recordings ending together spawned sixteen remuxes and probes in the same
 * instant, and their synchronous parts (process spawns, playlist and
 * directory work, SQLite commits) held the loop for half a second.
 */
export class Slots {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly size: number) {
    if (!(size >= 1)) throw new RangeError(`slots must be at least 1, got ${size}`);
  }

  /** Runs `task` once a slot is free; resolves or rejects as it does. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active < this.size) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      // The slot goes straight to the next in line, or is given back.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }

  /** Tasks running and waiting (logs, tests). */
  get load(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length };
  }
}
