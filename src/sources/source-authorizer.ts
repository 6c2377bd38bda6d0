/**
 * Publish checks with sources: a source's own publish request (created by the
 * source runner, never by a client) needs no publish credential, only the
 * basic rules (the app exists, the stream id is valid); every other request
 * goes through the full chain. Nothing a client sends can make a request
 * trusted: trust is the request object's identity.
 */
import type { PublishAuthorizer, PublishDecision, PublishRequest } from '../ingest/types.js';

export function sourceAuthorizer(o: { trusted: WeakSet<PublishRequest>; basic: PublishAuthorizer; full: PublishAuthorizer }): PublishAuthorizer {
  return {
    authorize(req: PublishRequest): PublishDecision | Promise<PublishDecision> {
      return o.trusted.has(req) ? o.basic.authorize(req) : o.full.authorize(req);
    },
  };
}
