/**
 * The one pino logger. Modules get a child carrying their name; sessions a child
 * carrying `{app, streamId, protocol}`. Secrets are redacted wherever they appear.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

/** Field paths whose values never reach a log line. */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  'secret',
  '*.secret',
  'secretAccessKey',
  '*.secretAccessKey',
  '*.*.secretAccessKey',
  'sessionToken',
  '*.sessionToken',
  'token',
  '*.token',
  'credentials',
  '*.credentials',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
  'query.token',
  '*.query.token',
  'streamKey',
  '*.streamKey',
  'databaseUrl',
  '*.databaseUrl',
];

/** Creates the root logger. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
