/**
 * Loads the configuration once: schema defaults, then the config file, then
 * environment overrides. The result is validated, deep-frozen and handed to
 * modules as typed slices. This is the only module that reads `process.env`.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { AppError } from '../errors.js';
import { configSchema, type Config } from './schema.js';
import { ENV_OVERRIDES } from './env.js';
import { packagePath } from '../package-root.js';

/** The config file used when `BUCKETCAST_CONFIG` is not set. */
export const DEFAULT_CONFIG_FILE = packagePath('config', 'bucketcast.json');

export interface LoadedConfig {
  /** The validated, frozen configuration. */
  config: Config;
  /** The file it was read from, or null when only defaults and environment applied. */
  file: string | null;
  /** Environment variables that look like ours but are not known (probably typos). */
  unknownEnv: string[];
}

/** Reads, merges and validates the configuration. Throws `AppError('config_invalid')`. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const explicit = env.BUCKETCAST_CONFIG;
  const file = explicit ? path.resolve(explicit) : existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : null;
  if (explicit && !existsSync(file!)) {
    throw new AppError('config_invalid', `BUCKETCAST_CONFIG: file not found: ${file}`, 500);
  }
  const raw: Record<string, unknown> = file ? readJson(file) : {};
  const known = new Set(['BUCKETCAST_CONFIG']);
  for (const o of ENV_OVERRIDES) {
    known.add(o.name);
    const value = env[o.name];
    if (value === undefined || value === '') continue;
    o.apply(raw, parseEnv(o.name, value, o.type));
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const where = file ? ` (${file})` : '';
    throw new AppError('config_invalid', `invalid configuration${where}:\n${formatIssues(result.error.issues)}`, 500);
  }
  const unknownEnv = Object.keys(env).filter((k) => k.startsWith('BUCKETCAST_') && !known.has(k) && !ENV_READ_ELSEWHERE.has(k));
  return { config: deepFreeze(result.data), file, unknownEnv };
}

/** Environment variables that belong to other modules' contracts (read through the config module too). */
const ENV_READ_ELSEWHERE = new Set<string>(['BUCKETCAST_ADMIN_PASSWORD', 'BUCKETCAST_SECRET_KEY', 'BUCKETCAST_SECRET_KEY_FILE']);

/** Values of environment variables that are read as they are (secrets, not part of the config tree). */
export function readSecretEnv(name: 'BUCKETCAST_ADMIN_PASSWORD' | 'BUCKETCAST_SECRET_KEY' | 'BUCKETCAST_SECRET_KEY_FILE', env: NodeJS.ProcessEnv = process.env): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

/** The shortest `BUCKETCAST_ADMIN_PASSWORD` accepted (the API's minimum too). */
export const MIN_ADMIN_PASSWORD_LENGTH = 12;

/** `BUCKETCAST_ADMIN_PASSWORD`, refused (`config_invalid`) when shorter than 12 characters. */
export function readAdminPassword(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const v = readSecretEnv('BUCKETCAST_ADMIN_PASSWORD', env);
  if (v !== undefined && v.length < MIN_ADMIN_PASSWORD_LENGTH) {
    throw new AppError('config_invalid', `BUCKETCAST_ADMIN_PASSWORD must be at least ${MIN_ADMIN_PASSWORD_LENGTH} characters (it has ${v.length}); choose a longer one`, 500);
  }
  return v;
}

/**
 * The key material that encrypts stored secrets: `BUCKETCAST_SECRET_KEY`, or the
 * contents of the file `BUCKETCAST_SECRET_KEY_FILE` names (Docker and systemd
 * secrets), or undefined (then `<dataDir>/secret.key`). Both set is an error.
 */
export function readSecretKey(env: NodeJS.ProcessEnv = process.env): { material: string; file?: string } | undefined {
  const direct = readSecretEnv('BUCKETCAST_SECRET_KEY', env);
  const file = readSecretEnv('BUCKETCAST_SECRET_KEY_FILE', env);
  if (direct !== undefined && file !== undefined) throw new AppError('config_invalid', 'set BUCKETCAST_SECRET_KEY or BUCKETCAST_SECRET_KEY_FILE, not both', 500);
  if (direct !== undefined) return { material: direct };
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(path.resolve(file), 'utf8').trim();
  } catch (err) {
    throw new AppError('config_invalid', `BUCKETCAST_SECRET_KEY_FILE: cannot read ${file}: ${(err as Error).message}`, 500);
  }
  if (!text) throw new AppError('config_invalid', `BUCKETCAST_SECRET_KEY_FILE: ${file} is empty`, 500);
  return { material: text, file: path.resolve(file) };
}

function readJson(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AppError('config_invalid', `cannot read config file ${file}: ${(err as Error).message}`, 500);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('top level must be an object');
    return parsed as Record<string, unknown>;
  } catch (err) {
    throw new AppError('config_invalid', `config file ${file} is not valid JSON: ${(err as Error).message}`, 500);
  }
}

function parseEnv(name: string, value: string, type: 'string' | 'int' | 'bool'): unknown {
  if (type === 'string') return value;
  if (type === 'int') {
    if (!/^\d+$/.test(value.trim())) throw new AppError('config_invalid', `${name}: expected a whole number, got "${value}"`, 500);
    return Number(value);
  }
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new AppError('config_invalid', `${name}: expected true or false, got "${value}"`, 500);
}

/** One line per problem, each naming the key path. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .flatMap((i) => {
      const at = i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
      if (i.code === 'unrecognized_keys') {
        return i.keys.map((k) => `  - ${at ? `${at}.` : ''}${k}: unknown key`);
      }
      return [`  - ${at || '(root)'}: ${i.message}`];
    })
    .join('\n');
}

/** Freezes an object graph so no module can change the configuration after start-up. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}
