/**
 * The base publish rules every protocol shares: the app must exist and the
 * stream id must be valid. Credential checks chain after it.
 */
import type { AppLookup } from '../apps/app-registry.js';
import { streamIdProblem } from '../config/stream-id.js';
import type { PublishAuthorizer, PublishDecision, PublishRequest } from './types.js';

export class BasicPublishAuthorizer implements PublishAuthorizer {
  constructor(
    private readonly options: {
      /** Current applications. */
      apps: AppLookup;
      /** Further checks (credentials), run only when the basic rules pass. */
      next?: PublishAuthorizer;
    },
  ) {}

  async authorize(req: PublishRequest): Promise<PublishDecision> {
    if (!this.options.apps.get(req.app)) return { ok: false, code: 'unknown_app', reason: `unknown application "${req.app}"` };
    const problem = streamIdProblem(req.streamId);
    if (problem) return { ok: false, code: 'bad_stream_id', reason: problem };
    return this.options.next ? this.options.next.authorize(req) : { ok: true };
  }
}
