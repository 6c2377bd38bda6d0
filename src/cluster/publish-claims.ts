/**
 * One publisher per `app/streamId` across nodes sharing one database: the
 * stream registry's cluster collaborator. A publish is accepted only once this
 * node holds the stream's claim in the store; while the stream is live the
 * node renews its claims (one query per interval for all of them), and gives
 * each back when its publisher leaves. A node that dies stops renewing: its
 * claims lapse after `leaseMs` and the stream ids are free on other nodes. A
 * restarted node first drops the claims of its previous life.
 *
 * When the database cannot be reached a new publish is refused (the rule
 * cannot be checked); publishes already live go on recording. A release that
 * fails is retried at each renewal until it succeeds.
 */
import type { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../log/logger.js';
import { errorMessage } from '../errors.js';
import type { PublishDecision, PublishRequest } from '../ingest/types.js';
import type { ClusterClaim } from '../ingest/stream-registry.js';
import type { StreamClaimStore } from '../db/types.js';

/** How long a claim outlives its node's last renewal. */
export const CLAIM_LEASE_MS = 15_000;

export class PublishClaims implements ClusterClaim, Lifecycle {
  private readonly held = new Map<string, { app: string; streamId: string }>();
  private readonly toRelease = new Map<string, { app: string; streamId: string }>();
  /** Releases in flight: a new claim of the same id waits for its release, so the release cannot delete it. */
  private readonly releasing = new Map<string, Promise<void>>();
  private timer?: NodeJS.Timeout;
  private readonly leaseMs: number;
  private readonly log: Logger;

  constructor(
    private readonly o: {
      /** The shared store's claims. */
      claims: StreamClaimStore;
      /** This node's id (stable across restarts). */
      nodeId: string;
      /** Claim lease; renewed every third of it. */
      leaseMs?: number;
      log: Logger;
    },
  ) {
    this.leaseMs = o.leaseMs ?? CLAIM_LEASE_MS;
    this.log = o.log.child({ module: 'cluster', nodeId: o.nodeId });
  }

  async start(): Promise<void> {
    const dropped = await this.o.claims.releaseNode(this.o.nodeId);
    if (dropped) this.log.info({ dropped }, 'released the publish claims of this node\'s previous run');
    this.timer = setInterval(() => void this.tick(), Math.max(200, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    // The registry released every publisher before this; anything left is given back in one statement.
    await this.o.claims.releaseNode(this.o.nodeId).catch((err) => this.log.warn({ err: errorMessage(err) }, 'could not release publish claims; they lapse on their own'));
    this.held.clear();
    this.toRelease.clear();
  }

  async claim(req: PublishRequest): Promise<PublishDecision> {
    const k = `${req.app}/${req.streamId}`;
    await this.releasing.get(k);
    try {
      // A release of this id still pending (database was down) is superseded by the new claim.
      this.toRelease.delete(k);
      const r = await this.o.claims.claim(req.app, req.streamId, this.o.nodeId, this.leaseMs);
      if (!r.ok) return { ok: false, code: 'stream_busy', reason: `stream "${req.streamId}" is already being published on node ${r.heldBy}` };
      this.held.set(k, { app: req.app, streamId: req.streamId });
      return { ok: true };
    } catch (err) {
      this.log.error({ app: req.app, streamId: req.streamId, err: errorMessage(err) }, 'could not claim a stream in the database; publish refused');
      return { ok: false, code: 'stream_busy', reason: 'the stream could not be claimed across nodes (database unreachable); try again' };
    }
  }

  release(app: string, streamId: string): void {
    const k = `${app}/${streamId}`;
    if (!this.held.delete(k)) return;
    this.toRelease.set(k, { app, streamId });
    this.releaseOne(k);
  }

  private releaseOne(k: string): void {
    const s = this.toRelease.get(k);
    if (!s || this.releasing.has(k)) return;
    const p = this.o.claims.release(s.app, s.streamId, this.o.nodeId).then(
      () => {
        if (this.toRelease.get(k) === s) this.toRelease.delete(k);
      },
      (err: unknown) => this.log.warn({ app: s.app, streamId: s.streamId, err: errorMessage(err) }, 'could not release a publish claim; retrying'),
    );
    this.releasing.set(k, p);
    void p.finally(() => this.releasing.delete(k));
  }

  private async tick(): Promise<void> {
    for (const k of this.toRelease.keys()) this.releaseOne(k);
    const streams = [...this.held.values()];
    if (streams.length === 0) return;
    try {
      const renewed = await this.o.claims.renew(this.o.nodeId, streams, this.leaseMs);
      // Fewer rows than streams: a claim lapsed (the database was out of reach longer than the lease) and may be another node's now.
      if (renewed < streams.length) this.log.warn({ held: streams.length, renewed }, 'a publish claim lapsed while its stream is live here');
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'could not renew publish claims');
    }
  }
}
