/**
 * Password hashing with bcrypt (bcryptjs). bcrypt reads at most 72 bytes, so
 * the password is first reduced to its SHA-256 (base64, 44 characters): every
 * character of a long passphrase counts, and a NUL cannot cut it short.
 */
import bcrypt from 'bcryptjs';
import { createHash, randomBytes } from 'node:crypto';

/** bcrypt cost: 2^11 rounds, about 0.1–0.3 s per check here (OWASP asks for at least 10). */
const COST = 11;

/** The shortest password the API accepts. */
export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 1024;

function prehash(password: string): string {
  return createHash('sha256').update(password, 'utf8').digest('base64');
}

export function hashPassword(password: string): Promise<string> {
  return bcrypt.hash(prehash(password), COST);
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return bcrypt.compare(prehash(password), hash);
}

/** A hash of nothing anyone knows: checked for unknown user names, so they take as long as known ones. */
let dummy: Promise<string> | undefined;
export function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(16).toString('hex'));
  return dummy;
}

/** A generated admin password: 24 URL-safe characters (144 bits). */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}
