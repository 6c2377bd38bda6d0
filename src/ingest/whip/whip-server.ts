/**
 * WebRTC ingest over WHIP (RFC 9725), the sibling of the RTMP server: it
 * accepts publishers at `POST /<app>/whip/<streamId>` (see whip-routes.ts),
 * claims their stream in the shared registry with the same publish rules as
 * RTMP, and runs one `WhipSession` per publisher until it ends.
 */
import { hostOf } from '../../limits/address-key.js';
import type { Router } from 'express';
import type { Logger } from '../../log/logger.js';
import type { WhipServerSettings } from '../../config/whip-schema.js';
import { AppError, errorMessage } from '../../errors.js';
import type { IngestServer, IngestServerOptions, PublishRequest, RefusalCode } from '../types.js';
import { planOffer } from './offer.js';
import { PortAllocator } from './port-allocator.js';
import { WhipSession } from './whip-session.js';
import { whipRoutes } from './whip-routes.js';

/** `settings` is the `whip` section of the configuration; `limits` caps sessions at once. */
export type WhipServerOptions = IngestServerOptions<WhipServerSettings>;

/** What a publisher posted. */
export interface PublishInput {
  app: string;
  streamId: string;
  sdp: string;
  token?: string;
  remoteAddress: string;
}

/** HTTP status of each publish refusal. */
const REFUSAL_STATUS: Record<RefusalCode, number> = {
  bad_stream_id: 400,
  unknown_app: 404,
  unauthorized: 401,
  stream_busy: 409,
  shutting_down: 503,
  insufficient_storage: 507,
  too_many_publishers: 429,
};

export class WhipServer implements IngestServer {
  /** The HTTP routes; mount them on the HTTP server. */
  readonly router: Router;
  private readonly sessions = new Map<string, WhipSession>();
  private readonly ports: PortAllocator;
  private readonly log: Logger;
  private accepting = false;

  constructor(private readonly options: WhipServerOptions) {
    this.log = options.log.child({ module: 'whip' });
    this.ports = new PortAllocator({ range: options.settings.recorderPortRange, host: '127.0.0.1' });
    this.router = whipRoutes({ server: this, settings: options.settings, log: this.log });
  }

  async start(): Promise<void> {
    this.accepting = true;
    this.log.info({ iceServers: this.options.settings.iceServers.length, hostAddresses: this.options.settings.additionalHostAddresses }, 'whip ready');
  }

  /**
   * Checks the offer, claims the stream and negotiates. Throws `AppError` with
   * the HTTP status to answer (400 offer, 401/404/409/503 publish refused).
   */
  async publish(input: PublishInput): Promise<{ session: WhipSession; answer: string }> {
    if (!this.accepting) throw new AppError('shutting_down', 'server is shutting down', 503);
    const plan = planOffer(input.sdp);
    // Each session holds a peer connection and ICE ports from here until it ends: capped, so a few dozen
    // POSTs cannot take every port of a small icePortRange from real publishers.
    const place = this.options.limits?.acquire(hostOf(input.remoteAddress));
    if (place && !place.ok) throw new AppError('too_many_sessions', 'too many WHIP sessions; try again later', place.scope === 'global' ? 503 : 429);
    try {
      return await this.negotiate(input, plan, place?.release);
    } catch (err) {
      place?.release();
      throw err;
    }
  }

  private async negotiate(input: PublishInput, plan: ReturnType<typeof planOffer>, release?: () => void): Promise<{ session: WhipSession; answer: string }> {
    const session = new WhipSession({
      app: input.app,
      streamId: input.streamId,
      remoteAddress: input.remoteAddress,
      token: input.token,
      plan,
      settings: this.options.settings,
      ports: this.ports,
      registry: this.options.registry,
      log: this.log.child({ app: input.app, streamId: input.streamId, protocol: 'whip' }),
    });
    const req: PublishRequest = { app: input.app, streamId: input.streamId, protocol: 'whip', remoteAddress: input.remoteAddress, token: input.token };
    const decision = await this.options.registry.claim(req, session);
    if (!decision.ok) throw new AppError(decision.code, decision.reason, REFUSAL_STATUS[decision.code]);
    this.sessions.set(session.id, session);
    void session.done.then(() => {
      this.sessions.delete(session.id);
      release?.();
    });
    try {
      const answer = await session.answer(input.sdp);
      return { session, answer };
    } catch (err) {
      session.close('negotiation failed');
      if (err instanceof AppError) throw err;
      throw new AppError('negotiation_failed', `the offer could not be negotiated: ${errorMessage(err)}`, 400);
    }
  }

  /** The live session behind a session resource URL. */
  find(app: string, streamId: string, id: string): WhipSession | undefined {
    const s = this.sessions.get(id);
    return s && s.app === app && s.streamId === streamId ? s : undefined;
  }

  /** Live sessions (tests, health). */
  list(): WhipSession[] {
    return [...this.sessions.values()];
  }

  /** Ends every session and waits until their peer connections are closed. */
  async closeAll(reason: string): Promise<void> {
    const all = [...this.sessions.values()];
    for (const s of all) s.close(reason);
    await Promise.all(all.map((s) => s.done));
  }

  /** Refuses new publishers, then ends every session. */
  async stop(): Promise<void> {
    this.accepting = false;
    await this.closeAll('shutdown');
  }
}
