/**
 * Stored AWS credentials on SQLite, after Twilio's AWS Credential resource:
 * created from `AKID:SECRET`, listed with paging, renamed, deleted; the pair
 * is kept only as AES-256-GCM ciphertext (see secret-box.ts) and only
 * `reveal` — used by the S3 client factory — ever decrypts it.
 */
import { randomBytes } from 'node:crypto';
import { AppError } from '../../errors.js';
import { checkFriendlyName, decodePageToken as decodeToken, encodePageToken as encodeToken, parseCredentialPair } from '../credential-rules.js';
import type { SecretBox } from '../secret-box.js';
import { accessKeyIdHint } from '../key-hint.js';
import type { CredentialPage, CredentialStore, StoredCredential } from '../types.js';
import type { Db } from './database.js';

interface CredentialRow {
  id: string;
  friendly_name: string;
  key_hint: string;
  sealed: string;
  created_at: string;
  updated_at: string;
}

/** Kept here too for callers that imported it from this module. */
export { parseCredentialPair };

function toCredential(r: CredentialRow): StoredCredential {
  return { id: r.id, friendlyName: r.friendly_name, accessKeyIdHint: r.key_hint, createdAt: r.created_at, updatedAt: r.updated_at };
}

export class SqliteCredentialStore implements CredentialStore {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  async create(input: { credentials: string; friendlyName?: string }): Promise<StoredCredential> {
    const pair = parseCredentialPair(input.credentials);
    const id = `CR${randomBytes(16).toString('hex')}`;
    const now = new Date().toISOString();
    const row: CredentialRow = {
      id,
      friendly_name: checkFriendlyName(input.friendlyName ?? ''),
      key_hint: accessKeyIdHint(pair.accessKeyId),
      sealed: this.box.seal(`${pair.accessKeyId}:${pair.secretAccessKey}`, id),
      created_at: now,
      updated_at: now,
    };
    this.db.prepare('INSERT INTO credentials (id, friendly_name, key_hint, sealed, created_at, updated_at) VALUES (@id, @friendly_name, @key_hint, @sealed, @created_at, @updated_at)').run(row);
    return toCredential(row);
  }

  async get(id: string): Promise<StoredCredential | undefined> {
    const row = this.row(id);
    return row ? toCredential(row) : undefined;
  }

  async list(opts: { pageSize?: number; pageToken?: string } = {}): Promise<CredentialPage> {
    const size = Math.min(1000, Math.max(1, opts.pageSize ?? 50));
    // A page token names the row a page continues from (ids are random, so order by creation then id):
    // the last row of the page before it, or — for a previous page — the first row of the page after it.
    const token = opts.pageToken ? decodeToken(opts.pageToken) : undefined;
    const from = token ? this.row(token.id) : undefined;
    if (token && !from) throw new AppError('page_token_invalid', 'page token is not valid', 400);
    const params = { created: from?.created_at ?? null, id: from?.id ?? null, limit: size + 1 };
    if (token?.backwards) {
      const rows = this.db
        .prepare(`SELECT * FROM credentials WHERE created_at < @created OR (created_at = @created AND id < @id) ORDER BY created_at DESC, id DESC LIMIT @limit`)
        .all(params) as CredentialRow[];
      const items = rows.slice(0, size).reverse().map(toCredential);
      return {
        items,
        // The page after this one starts right after its last row.
        ...(items.length ? { nextPageToken: encodeToken(items[items.length - 1].id, false) } : {}),
        ...(rows.length > size && items.length ? { previousPageToken: encodeToken(items[0].id, true) } : {}),
      };
    }
    const rows = this.db
      .prepare(
        `SELECT * FROM credentials WHERE (@created IS NULL OR created_at > @created OR (created_at = @created AND id > @id))
         ORDER BY created_at, id LIMIT @limit`,
      )
      .all(params) as CredentialRow[];
    const items = rows.slice(0, size).map(toCredential);
    return {
      items,
      ...(rows.length > size ? { nextPageToken: encodeToken(items[items.length - 1].id, false) } : {}),
      ...(token && items.length ? { previousPageToken: encodeToken(items[0].id, true) } : {}),
    };
  }

  async updateFriendlyName(id: string, friendlyName: string): Promise<StoredCredential> {
    const now = new Date().toISOString();
    const r = this.db.prepare('UPDATE credentials SET friendly_name = ?, updated_at = ? WHERE id = ?').run(checkFriendlyName(friendlyName), now, id);
    if (r.changes === 0) throw new AppError('credential_not_found', `no stored credential ${id}`, 404);
    return toCredential(this.row(id)!);
  }

  async delete(id: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM credentials WHERE id = ?').run(id).changes === 1;
  }

  async reveal(id: string): Promise<{ accessKeyId: string; secretAccessKey: string } | undefined> {
    const row = this.row(id);
    if (!row) return undefined;
    return parseCredentialPair(this.box.open(row.sealed, id));
  }

  private row(id: string): CredentialRow | undefined {
    return this.db.prepare('SELECT * FROM credentials WHERE id = ?').get(id) as CredentialRow | undefined;
  }
}
