/**
 * Stored AWS credentials on SQLite, after Twilio's AWS Credential resource:
 * created from `AKID:SECRET`, listed with paging, renamed, deleted; the pair
 * is kept only as AES-256-GCM ciphertext (see secret-box.ts) and only
 * `reveal` — used by the S3 client factory — ever decrypts it.
 */
import { randomBytes } from 'node:crypto';
import { AppError } from '../../errors.js';
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

/** Splits and checks `AKID:SECRET`; the message never repeats the input. */
export function parseCredentialPair(text: string): { accessKeyId: string; secretAccessKey: string } {
  const i = text.indexOf(':');
  const accessKeyId = i < 0 ? '' : text.slice(0, i).trim();
  const secretAccessKey = i < 0 ? '' : text.slice(i + 1).trim();
  if (!/^[\x21-\x7e]{3,128}$/.test(accessKeyId) || accessKeyId.includes(':') || !/^[\x21-\x7e]{3,256}$/.test(secretAccessKey)) {
    throw new AppError('credentials_invalid', 'credentials must be "<AWS_ACCESS_KEY_ID>:<AWS_SECRET_ACCESS_KEY>"', 400);
  }
  return { accessKeyId, secretAccessKey };
}

function checkFriendlyName(name: string): string {
  if (name.length > 64) throw new AppError('friendly_name_invalid', 'friendly name must be at most 64 characters', 400);
  return name;
}

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
    // The page token is the last id of the previous page (ids are random, so order by creation then id).
    const after = opts.pageToken ? this.row(decodeToken(opts.pageToken)) : undefined;
    if (opts.pageToken && !after) throw new AppError('page_token_invalid', 'page token is not valid', 400);
    const rows = this.db
      .prepare(
        `SELECT * FROM credentials WHERE (@created IS NULL OR created_at > @created OR (created_at = @created AND id > @id))
         ORDER BY created_at, id LIMIT @limit`,
      )
      .all({ created: after?.created_at ?? null, id: after?.id ?? null, limit: size + 1 }) as CredentialRow[];
    const items = rows.slice(0, size).map(toCredential);
    return rows.length > size ? { items, nextPageToken: Buffer.from(items[items.length - 1].id).toString('base64url') } : { items };
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

function decodeToken(token: string): string {
  return Buffer.from(token, 'base64url').toString('utf8');
}
