/** The latest upload progress of each file being uploaded (the catalog keeps states, not bytes), for the recordings API. */
import type { EventBus } from '../events/event-bus.js';
import type { BusEvents } from '../events/types.js';
import type { Lifecycle } from '../lifecycle.js';

export class UploadProgress implements Lifecycle {
  private readonly latest = new Map<string, { loaded: number; total: number }>();
  private readonly removers: Array<() => void> = [];

  constructor(private readonly events: EventBus<BusEvents>) {}

  async start(): Promise<void> {
    const key = (p: { recordingId: string; name: string }) => `${p.recordingId}/${p.name}`;
    this.removers.push(
      this.events.on('upload.progress', (p) => void this.latest.set(key(p), { loaded: p.loaded, total: p.total })),
      this.events.on('upload.completed', (p) => void this.latest.delete(key(p))),
      this.events.on('upload.failed', (p) => void this.latest.delete(key(p))),
    );
  }

  async stop(): Promise<void> {
    for (const r of this.removers.splice(0)) r();
    this.latest.clear();
  }

  /** Bytes sent of a file being uploaded, if known. */
  of(recordingId: string, name: string): { loaded: number; total: number } | undefined {
    return this.latest.get(`${recordingId}/${name}`);
  }
}
