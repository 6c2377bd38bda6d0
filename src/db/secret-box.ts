/**
 * Encryption at rest for stored secrets: AES-256-GCM with a random 96-bit IV
 * per value and the row's id as additional data (a ciphertext copied to
 * another row does not decrypt). The key comes from `BUCKETCAST_SECRET_KEY`
 * (64 hex digits, 32 bytes in base64, or a passphrase of 16+ characters run
 * through scrypt), or from `<dataDir>/secret.key`, created on first start
 * with mode 0600. Every sealed value names the key it was sealed with (a
 * fingerprint), so a changed key gives a clear error instead of garbage.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, scryptSync } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../errors.js';

const VERSION = 'v1';

export class SecretBox {
  /** Fingerprint of the key (not secret), stored with every sealed value. */
  readonly keyId: string;

  private constructor(private readonly key: Buffer) {
    this.keyId = createHmac('sha256', key).update('bucketcast key id').digest('hex').slice(0, 16);
  }

  /**
   * A 32-byte key for one purpose (e.g. `playback-token/<app>`), derived from
   * this key with HKDF-SHA256: never stored, different per purpose, and
   * replaced when the server key is.
   */
  derive(purpose: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.key, 'bucketcast-derived-key-v1', purpose, 32));
  }

  /** A box from key material as given in `BUCKETCAST_SECRET_KEY`. */
  static fromMaterial(material: string): SecretBox {
    const m = material.trim();
    if (/^[0-9a-fA-F]{64}$/.test(m)) return new SecretBox(Buffer.from(m, 'hex'));
    if (/^[A-Za-z0-9+/_-]{43}=?$/.test(m)) {
      const raw = Buffer.from(m, 'base64');
      if (raw.length === 32) return new SecretBox(raw);
    }
    if (m.length < 16) {
      throw new AppError('secret_key_invalid', 'BUCKETCAST_SECRET_KEY must be 64 hex digits, 32 bytes in base64, or a passphrase of at least 16 characters', 500);
    }
    return new SecretBox(scryptSync(m, 'bucketcast-secret-key-v1', 32));
  }

  /**
   * The key from the environment when given, else from `<dataDir>/secret.key`,
   * which is created (random, mode 0600) when missing.
   */
  static load(dataDir: string, envMaterial: string | undefined): { box: SecretBox; source: 'env' | 'file'; file?: string; created?: boolean } {
    if (envMaterial !== undefined) return { box: SecretBox.fromMaterial(envMaterial), source: 'env' };
    const file = path.join(dataDir, 'secret.key');
    let created = false;
    if (!existsSync(file)) {
      try {
        writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
        created = true;
      } catch (err) {
        // Another process created it first: use theirs.
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    // Keep the key private even if someone loosened the file's mode.
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    const text = readFileSync(file, 'utf8').trim();
    if (!/^[0-9a-fA-F]{64}$/.test(text)) throw new AppError('secret_key_invalid', `${file} must hold 64 hex digits`, 500);
    return { box: new SecretBox(Buffer.from(text, 'hex')), source: 'file', file, created };
  }

  /** Encrypts `plaintext`, bound to `context` (e.g. the row id). */
  seal(plaintext: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, this.keyId, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
  }

  /** Decrypts a value sealed for the same `context`; throws `secret_key_mismatch` or `secret_corrupt`. */
  open(sealed: string, context: string): string {
    const [version, keyId, iv, tag, ct] = sealed.split('.');
    if (version !== VERSION || !ct) throw new AppError('secret_corrupt', 'a stored secret is not in a known format', 500);
    if (keyId !== this.keyId) {
      throw new AppError('secret_key_mismatch', 'a stored secret was encrypted with another key: BUCKETCAST_SECRET_KEY (or <dataDir>/secret.key) changed since it was stored', 500);
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new AppError('secret_corrupt', 'a stored secret failed its integrity check (tampered with, or moved to another row)', 500);
    }
  }
}
