/**
 * What every credential store checks and how it pages, shared by the SQLite
 * and PostgreSQL implementations so both answer the same inputs the same way.
 */
import { AppError } from '../errors.js';

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

/** A friendly name as given, or a 400 when longer than 64 characters. */
export function checkFriendlyName(name: string): string {
  if (name.length > 64) throw new AppError('friendly_name_invalid', 'friendly name must be at most 64 characters', 400);
  return name;
}

/** `<id` pages backwards from a row; a plain id (the first token format) pages forwards after it. */
export function encodePageToken(id: string, backwards: boolean): string {
  return Buffer.from(backwards ? `<${id}` : id).toString('base64url');
}

export function decodePageToken(token: string): { id: string; backwards: boolean } {
  const text = Buffer.from(token, 'base64url').toString('utf8');
  return text.startsWith('<') ? { id: text.slice(1), backwards: true } : { id: text, backwards: false };
}
