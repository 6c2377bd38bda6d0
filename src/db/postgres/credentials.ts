/**
 * Stored AWS credentials on PostgreSQL: the same resource as the SQLite store
 * (created from `AKID:SECRET`, paged, renamed, deleted), the pair kept only as
 * AES-256-GCM ciphertext that `reveal` alone decrypts.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { AppError } from '../../errors.js';
import { checkFriendlyName, decodePageToken, encodePageToken, parseCredentialPair } from '../credential-rules.js';
import type { SecretBox } from '../secret-box.js';
import { accessKeyIdHint } from '../key-hint.js';
import type { CredentialPage, CredentialStore, StoredCredential } from '../types.js';

interface CredentialRow {
  id: string;
  friendly_name: string;
  key_hint: string;
  sealed: string;
  created_at: string;
  updated_at: string;
}

function toCredential(r: CredentialRow): StoredCredential {
  return { id: r.id, friendlyName: r.friendly_name, accessKeyIdHint: r.key_hint, createdAt: r.created_at, updatedAt: r.updated_at };
}

export class PgCredentialStore implements CredentialStore {
  constructor(
    private readonly pool: pg.Pool,
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
    await this.pool.query('INSERT INTO credentials (id, friendly_name, key_hint, sealed, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)', [
      row.id,
      row.friendly_name,
      row.key_hint,
      row.sealed,
      row.created_at,
      row.updated_at,
    ]);
    return toCredential(row);
  }

  async get(id: string): Promise<StoredCredential | undefined> {
    const row = await this.row(id);
    return row ? toCredential(row) : undefined;
  }

  async list(opts: { pageSize?: number; pageToken?: string } = {}): Promise<CredentialPage> {
    const size = Math.min(1000, Math.max(1, opts.pageSize ?? 50));
    // A page token names the row a page continues from (see the SQLite store): ids are random, so order by creation then id.
    const token = opts.pageToken ? decodePageToken(opts.pageToken) : undefined;
    const from = token ? await this.row(token.id) : undefined;
    if (token && !from) throw new AppError('page_token_invalid', 'page token is not valid', 400);
    const params = [from?.created_at ?? null, from?.id ?? null, size + 1];
    if (token?.backwards) {
      const r = await this.pool.query<CredentialRow>(
        'SELECT * FROM credentials WHERE created_at < $1 OR (created_at = $1 AND id < $2) ORDER BY created_at DESC, id DESC LIMIT $3',
        params,
      );
      const items = r.rows.slice(0, size).reverse().map(toCredential);
      return {
        items,
        ...(items.length ? { nextPageToken: encodePageToken(items[items.length - 1].id, false) } : {}),
        ...(r.rows.length > size && items.length ? { previousPageToken: encodePageToken(items[0].id, true) } : {}),
      };
    }
    const r = await this.pool.query<CredentialRow>(
      'SELECT * FROM credentials WHERE ($1::text IS NULL OR created_at > $1 OR (created_at = $1 AND id > $2)) ORDER BY created_at, id LIMIT $3',
      params,
    );
    const items = r.rows.slice(0, size).map(toCredential);
    return {
      items,
      ...(r.rows.length > size ? { nextPageToken: encodePageToken(items[items.length - 1].id, false) } : {}),
      ...(token && items.length ? { previousPageToken: encodePageToken(items[0].id, true) } : {}),
    };
  }

  async updateFriendlyName(id: string, friendlyName: string): Promise<StoredCredential> {
    const r = await this.pool.query<CredentialRow>('UPDATE credentials SET friendly_name = $1, updated_at = $2 WHERE id = $3 RETURNING *', [
      checkFriendlyName(friendlyName),
      new Date().toISOString(),
      id,
    ]);
    if (r.rows.length === 0) throw new AppError('credential_not_found', `no stored credential ${id}`, 404);
    return toCredential(r.rows[0]);
  }

  async delete(id: string): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM credentials WHERE id = $1', [id])).rowCount ?? 0) === 1;
  }

  async reveal(id: string): Promise<{ accessKeyId: string; secretAccessKey: string } | undefined> {
    const row = await this.row(id);
    if (!row) return undefined;
    return parseCredentialPair(this.box.open(row.sealed, id));
  }

  private async row(id: string): Promise<CredentialRow | undefined> {
    return (await this.pool.query<CredentialRow>('SELECT * FROM credentials WHERE id = $1', [id])).rows[0];
  }
}
