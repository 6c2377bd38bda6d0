/**
 * Password hashing with bcrypt (bcryptjs). bcrypt reads at most 72 bytes, so
 * the password is first reduced to its SHA-256 (base64, 44 characters): every
 * character of a long passphrase counts, and a NUL cannot cut it short. The
 * work runs in worker threads (password-pool.ts): a check costs 0.1–0.3 s of
 * CPU that would otherwise hold the event loop carrying media.
 */
import { randomBytes } from 'node:crypto';
import { PasswordPool } from './password-pool.js';

/** bcrypt cost: 2^11 rounds, about 0.1–0.3 s per check here (OWASP asks for at least 10). */
const COST = 11;

/** The shortest password the API accepts. */
export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 1024;

/** The process's bcrypt workers: 2 checks at once, 16 waiting (`api.login.maxConcurrentChecks` / `maxQueuedChecks` apply at start). */
export const passwordPool = new PasswordPool(2, 16);

/** A bcrypt hash of the password (in a worker). */
export function hashPassword(password: string): Promise<string> {
  return passwordPool.run<string>({ op: 'hash', password, cost: COST });
}

/** Whether the password matches the hash (in a worker; 503 `login_busy` when too many checks wait). */
export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return passwordPool.run<boolean>({ op: 'compare', password, hash });
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
