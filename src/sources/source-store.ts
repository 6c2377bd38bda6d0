/**
 * Sources added through the API, kept in `<dataDir>/sources.json` (mode 0600)
 * with each URL sealed: AES-256-GCM under a key derived from the server's
 * secret key (HKDF, `sources/url`), the app and stream id as additional data.
 * Nothing of a URL is in the file in clear, so a camera's password or an SRT
 * passphrase is never at rest unencrypted. A changed server key makes the URLs
 * unreadable: those sources show `failed` with a message to enter the URL again.
 * A source's `output` (where its recordings go, issue 18) is sealed the same
 * way (the app and stream id plus `#output` as additional data): in-line keys
 * are never at rest unencrypted either. `npm run secrets:rotate` re-encrypts
 * the file (see src/rotation/rotate-secrets.ts).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SourceSettings } from '../config/sources-schema.js';
import type { DestinationSpec } from '../storage/destinations/output.js';

interface Row {
  app: string;
  streamId: string;
  /** `v1.<iv>.<tag>.<ciphertext>`, base64url. */
  url: string;
  enabled: boolean;
  onDemand: boolean;
  rtspTransport: 'tcp' | 'udp';
  /** The sealed JSON of its destination, when it has one. */
  output?: string;
}

/** A stored source; `url` is null when it cannot be decrypted (the server key changed), and so is an `output` then. */
export interface StoredSource extends Omit<SourceSettings, 'url' | 'output'> {
  app: string;
  url: string | null;
  output?: DestinationSpec | null;
}

/** What is saved: a source added through the API with its readable URL and its destination. */
export type SavedSource = Omit<SourceSettings, 'output'> & { app: string; output?: DestinationSpec };

export class SourceStore {
  private readonly file: string;

  constructor(
    dataDir: string,
    private readonly key: Buffer,
  ) {
    this.file = path.join(dataDir, 'sources.json');
  }

  list(): StoredSource[] {
    if (!existsSync(this.file)) return [];
    const rows = JSON.parse(readFileSync(this.file, 'utf8')) as Row[];
    return rows.map((r) => {
      const s: StoredSource = { app: r.app, streamId: r.streamId, enabled: r.enabled, onDemand: r.onDemand, rtspTransport: r.rtspTransport, url: this.open(r.url, `${r.app}/${r.streamId}`) };
      if (r.output !== undefined) {
        const text = this.open(r.output, `${r.app}/${r.streamId}#output`);
        s.output = text === null ? null : (JSON.parse(text) as DestinationSpec);
      }
      return s;
    });
  }

  /** Replaces the whole list (written to a temporary file, then renamed). */
  save(all: SavedSource[]): void {
    const tmp = this.prepare(all);
    renameSync(tmp, this.file);
  }

  /** Writes the whole list sealed with this store's key to `sources.json.tmp` (mode 0600) and names it; `commit` renames it over the file. */
  prepare(all: SavedSource[]): string {
    const rows: Row[] = all.map((s) => ({
      app: s.app,
      streamId: s.streamId,
      url: this.seal(s.url, `${s.app}/${s.streamId}`),
      enabled: s.enabled,
      onDemand: s.onDemand,
      rtspTransport: s.rtspTransport,
      ...(s.output ? { output: this.seal(JSON.stringify(s.output), `${s.app}/${s.streamId}#output`) } : {}),
    }));
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(rows, null, 1)}\n`, { mode: 0o600 });
    return tmp;
  }

  commit(tmp: string): void {
    renameSync(tmp, this.file);
  }

  private seal(text: string, aad: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(Buffer.from(aad));
    const body = Buffer.concat([c.update(text, 'utf8'), c.final()]);
    return ['v1', iv.toString('base64url'), c.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }

  private open(sealed: string, aad: string): string | null {
    try {
      const [v, iv, tag, body] = sealed.split('.');
      if (v !== 'v1') return null;
      const d = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      d.setAAD(Buffer.from(aad));
      d.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([d.update(Buffer.from(body, 'base64url')), d.final()]).toString('utf8');
    } catch {
      return null;
    }
  }
}
