/**
 * The live streams, whatever their protocol: one publisher per app and stream
 * id. RTMP and WHIP servers claim a stream here before answering the publisher,
 * and release it when the publisher leaves.
 */
import type { Logger } from '../log/logger.js';
import { EventBus } from '../events/event-bus.js';
import type { PublishAuthorizer, PublishDecision, PublishRequest, PublisherSession } from './types.js';

/** The cluster-wide half of "one publisher per stream id" (several nodes on one database). */
export interface ClusterClaim {
  /** Asked last, once this node would accept the publish; a refusal names where the stream is live. */
  claim(req: PublishRequest): Promise<PublishDecision>;
  /** The publisher left: the stream id is free on every node. */
  release(app: string, streamId: string): void;
}

/** What the registry announces. */
export interface StreamRegistryEvents {
  /** A publisher was accepted. */
  published: PublisherSession;
  /** A publisher left (for any reason). */
  unpublished: { session: PublisherSession; reason: string };
  /** A publisher was refused (with the reason the log keeps, not the one the publisher is told). */
  refused: { request: PublishRequest; code: string; reason: string };
}

export class StreamRegistry {
  private readonly live = new Map<string, PublisherSession>();
  /** Stream ids whose cluster claim is being asked: busy for other local publishers meanwhile. */
  private readonly claiming = new Set<string>();
  private draining = false;
  /** `published` and `unpublished`; listeners run before `claim`/`release` return, and one that fails is logged. */
  readonly events: EventBus<StreamRegistryEvents>;

  constructor(
    private readonly options: {
      /** Decides on each publish before the busy check. */
      authorizer: PublishAuthorizer;
      log: Logger;
      /** Extra admission check run last (e.g. free disk space); null admits. */
      admission?: (req: PublishRequest) => PublishDecision | null;
      /** Cluster-wide claim, when several nodes share one database. */
      cluster?: ClusterClaim;
    },
  ) {
    this.events = new EventBus<StreamRegistryEvents>(options.log);
  }

  /**
   * Authorizes a publish and, when it may go ahead, registers the session.
   * A refusal is logged with its reason, never with the credential.
   */
  async claim(req: PublishRequest, session: PublisherSession): Promise<PublishDecision> {
    const log = this.options.log.child({ app: req.app, streamId: req.streamId, protocol: req.protocol });
    const auth = this.draining ? SHUTTING_DOWN : await this.options.authorizer.authorize(req);
    // The busy check is synchronous, and a stream id whose cluster claim is pending counts as busy, so two racing publishers cannot both pass.
    let decision = auth.ok ? this.admit(req) : auth;
    if (decision.ok && this.options.cluster) decision = await this.claimInCluster(req, this.options.cluster);
    if (!decision.ok) {
      log.warn({ code: decision.code, reason: decision.reason, remoteAddress: req.remoteAddress }, 'publish refused');
      void this.events.emit('refused', { request: req, code: decision.code, reason: decision.reason });
      // The publisher learns only "unauthorized" (the log keeps why): nobody can probe which apps and stream ids have keys.
      return decision.code === 'unauthorized' ? { ...decision, reason: 'unauthorized' } : decision;
    }
    this.live.set(key(req.app, req.streamId), session);
    log.info({ sessionId: session.id, remoteAddress: req.remoteAddress }, 'publish accepted');
    void this.events.emit('published', session);
    return decision;
  }

  private async claimInCluster(req: PublishRequest, cluster: ClusterClaim): Promise<PublishDecision> {
    const k = key(req.app, req.streamId);
    this.claiming.add(k);
    try {
      const d = await cluster.claim(req);
      if (d.ok && this.draining) cluster.release(req.app, req.streamId);
      return d.ok && this.draining ? SHUTTING_DOWN : d;
    } finally {
      this.claiming.delete(k);
    }
  }

  private admit(req: PublishRequest): PublishDecision {
    if (this.draining) return SHUTTING_DOWN;
    if (this.claiming.has(key(req.app, req.streamId))) return { ok: false, code: 'stream_busy', reason: `stream "${req.streamId}" is being claimed by another publisher` };
    const current = this.live.get(key(req.app, req.streamId));
    if (current) {
      return { ok: false, code: 'stream_busy', reason: `stream "${req.streamId}" is already being published (${current.protocol} from ${current.remoteAddress})` };
    }
    return this.options.admission?.(req) ?? { ok: true };
  }

  /** Removes a session; a no-op when it is not the registered publisher. */
  release(session: PublisherSession, reason: string): void {
    const k = key(session.app, session.streamId);
    if (this.live.get(k) !== session) return;
    this.live.delete(k);
    this.options.cluster?.release(session.app, session.streamId);
    this.options.log.info({ app: session.app, streamId: session.streamId, protocol: session.protocol, reason }, 'publish ended');
    void this.events.emit('unpublished', { session, reason });
  }

  get(app: string, streamId: string): PublisherSession | undefined {
    return this.live.get(key(app, streamId));
  }

  list(): PublisherSession[] {
    return [...this.live.values()];
  }

  /** Refuses every new publish from now on (graceful shutdown). */
  drain(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }
}

const SHUTTING_DOWN: PublishDecision = { ok: false, code: 'shutting_down', reason: 'server is shutting down' };

function key(app: string, streamId: string): string {
  return `${app}/${streamId}`;
}
