/**
 * node-media-server's protocol code logs through a module-level logger that
 * prints plain text to stdout (e.g. "Unknown field" for every malformed AMF
 * value a client sends). Routed into our JSON log at debug level, so hostile
 * clients cannot fill the output with unstructured lines.
 */
import { createRequire } from 'node:module';
import type { Logger } from '../../log/logger.js';

const require = createRequire(import.meta.url);

/** Sends NMS's log lines to `log` (debug level) from now on. */
export function routeNmsLogger(log: Logger): void {
  const nms = require('node-media-server/src/core/logger.js') as { log(message: string, level?: string): void };
  nms.log = (message: string, level = 'info') => log.debug({ nmsLevel: level, nmsMessage: String(message).slice(0, 200) }, 'node-media-server message');
}
