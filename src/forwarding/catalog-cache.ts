/**
 * The upload catalog behind a small in-memory cache, so a viewer's request
 * for an uploaded file costs no database lookup.
 *
 * Why: in the profile of `npm run bench:forward` the SQLite lookup of every
 * request (statement preparation and all) was the largest cost after express.
 * A full index of every uploaded name would grow with the catalog; this cache
 * is bounded (`maxEntries`, oldest dropped first) and kept current by the
 * `upload.completed` event (the name is looked up again at once, so a file
 * whose local copy was just deleted is forwarded to its object). Entries also
 * expire (`ttlMs`, shorter for "not uploaded"), for catalog changes that send
 * no event here: deletions by retention, another node sharing the catalog.
 * Concurrent misses for one name share one lookup; a failed lookup is not kept.
 */
import type { MediaFolder } from '../http/media-routes.js';
import type { ObjectLocator, StoredObject } from './types.js';

export interface CatalogCacheOptions {
  /** Entries kept at most. */
  maxEntries?: number;
  /** Lifetime of a found object, in ms. */
  ttlMs?: number;
  /** Lifetime of "the catalog knows no upload of this name", in ms. */
  missTtlMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

interface Entry {
  value: Promise<StoredObject | undefined>;
  expires: number;
  /** The settled answer, once there is one. */
  settled?: { object: StoredObject | undefined };
}

/** An `ObjectLocator` in front of the catalog, answering repeated lookups from memory. */
export class CatalogCache implements ObjectLocator {
  private readonly entries = new Map<string, Entry>();
  private readonly max: number;
  private readonly ttl: number;
  private readonly missTtl: number;
  private readonly now: () => number;

  constructor(private readonly inner: ObjectLocator, options: CatalogCacheOptions = {}) {
    this.max = options.maxEntries ?? 50_000;
    this.ttl = options.ttlMs ?? 60_000;
    this.missTtl = options.missTtlMs ?? 2_000;
    this.now = options.now ?? Date.now;
  }

  locate(app: string, folder: MediaFolder, fileName: string): Promise<StoredObject | undefined> {
    const k = cacheKey(app, folder, fileName);
    const hit = this.entries.get(k);
    if (hit && hit.expires > this.now()) return hit.value;
    if (hit) this.entries.delete(k);
    const entry: Entry = { value: this.inner.locate(app, folder, fileName), expires: Infinity };
    this.entries.set(k, entry);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
    entry.value.then(
      (found) => {
        entry.expires = this.now() + (found ? this.ttl : this.missTtl);
        entry.settled = { object: found };
      },
      () => {
        // Not cached: the next request asks the catalog again (and gets its own 503 if it is still down).
        if (this.entries.get(k) === entry) this.entries.delete(k);
      },
    );
    return entry.value;
  }

  /** The cached answer for a name when it is settled and fresh, without waiting; undefined otherwise. */
  peek(app: string, folder: MediaFolder, fileName: string): { object: StoredObject | undefined } | undefined {
    const hit = this.entries.get(cacheKey(app, folder, fileName));
    return hit?.settled && hit.expires > this.now() ? hit.settled : undefined;
  }

  /** Forgets what is known of a file name (both folders): its upload completed, or it was removed. */
  forget(app: string, fileName: string): void {
    this.entries.delete(cacheKey(app, 'streams', fileName));
    this.entries.delete(cacheKey(app, 'previews', fileName));
  }

  /** Number of cached names (tests, metrics). */
  get size(): number {
    return this.entries.size;
  }
}

function cacheKey(app: string, folder: MediaFolder, fileName: string): string {
  return `${app}\u0000${folder}\u0000${fileName}`;
}
