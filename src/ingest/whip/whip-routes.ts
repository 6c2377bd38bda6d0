/**
 * The WHIP HTTP surface (RFC 9725):
 *   POST    /<app>/whip/<streamId>        SDP offer in, 201 + SDP answer out,
 *                                          `Location` of the session resource
 *   PATCH   /<app>/whip/<streamId>/<id>   trickle ICE candidates (RFC 8840);
 *                                          ICE restarts are answered 422
 *   DELETE  /<app>/whip/<streamId>/<id>   ends the session
 *   OPTIONS on both                        CORS preflight
 * Errors are JSON `{error:{code,message}}` with CORS headers, so a browser
 * client can read them too.
 */
import { Router, text, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../../log/logger.js';
import type { WhipServerSettings } from '../../config/whip-schema.js';
import { AppError, errorMessage } from '../../errors.js';
import { MAX_OFFER_BYTES } from './offer.js';
import { MAX_FRAGMENT_BYTES, parseTrickleFragment } from './trickle.js';
import type { PublishInput } from './whip-server.js';
import type { WhipSession } from './whip-session.js';

/** What the routes need from the WHIP server. */
export interface WhipEndpoint {
  publish(input: PublishInput): Promise<{ session: WhipSession; answer: string }>;
  find(app: string, streamId: string, id: string): WhipSession | undefined;
}

export interface WhipRoutesOptions {
  server: WhipEndpoint;
  settings: WhipServerSettings;
  log: Logger;
}

const ENDPOINT = '/:app/whip/:streamId';
const RESOURCE = '/:app/whip/:streamId/:sessionId';

export function whipRoutes({ server, settings, log }: WhipRoutesOptions): Router {
  const router = Router();
  const cors = (res: Response, methods: string) => {
    res.setHeader('Access-Control-Allow-Origin', settings.allowOrigin);
    res.setHeader('Access-Control-Allow-Methods', methods);
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, If-Match');
    res.setHeader('Access-Control-Expose-Headers', 'Location, ETag, Link, Accept-Patch, Accept-Post');
    if (settings.allowOrigin !== '*') res.setHeader('Vary', 'Origin');
  };

  router.options(ENDPOINT, (_req, res) => {
    cors(res, 'POST, OPTIONS');
    res.setHeader('Accept-Post', 'application/sdp');
    res.status(204).end();
  });

  router.post(
    ENDPOINT,
    (req, res, next) => {
      cors(res, 'POST, OPTIONS');
      if (mediaType(req) !== 'application/sdp') {
        throw new AppError('unsupported_media_type', `a WHIP offer must be sent as Content-Type: application/sdp (got ${req.get('content-type') ?? 'none'})`, 415);
      }
      next();
    },
    text({ type: () => true, limit: MAX_OFFER_BYTES }),
    async (req, res) => {
      const sdp = typeof req.body === 'string' ? req.body : '';
      if (!sdp.trim()) throw new AppError('bad_offer', 'the request has no SDP offer in its body', 400);
      const app = String(req.params.app);
      const streamId = String(req.params.streamId);
      const { session, answer } = await server.publish({ app, streamId, sdp, token: bearerToken(req), remoteAddress: remoteAddress(req) });
      if (req.socket.destroyed) {
        // The client left while we negotiated: nobody will ever use this session.
        session.close('publisher left during negotiation');
        return;
      }
      res.status(201);
      res.setHeader('Content-Type', 'application/sdp');
      res.setHeader('Location', `/${encodeURIComponent(app)}/whip/${encodeURIComponent(streamId)}/${session.id}`);
      res.setHeader('ETag', session.etag);
      res.setHeader('Accept-Patch', 'application/trickle-ice-sdpfrag');
      for (const link of iceServerLinks(settings)) res.append('Link', link);
      res.send(Buffer.from(answer, 'utf8')); // a Buffer keeps the Content-Type exactly application/sdp (no charset)
    },
  );

  router.options(RESOURCE, (_req, res) => {
    cors(res, 'PATCH, DELETE, OPTIONS');
    res.setHeader('Accept-Patch', 'application/trickle-ice-sdpfrag');
    res.status(204).end();
  });

  const sessionOf = (req: Request, res: Response, methods: string): WhipSession => {
    cors(res, methods);
    const session = server.find(String(req.params.app), String(req.params.streamId), String(req.params.sessionId));
    if (!session) throw new AppError('session_not_found', 'no such WHIP session (it ended, or never existed)', 404);
    if (!session.acceptsToken(bearerToken(req))) throw new AppError('unauthorized', 'this session was created with another credential', 401);
    return session;
  };

  router.delete(RESOURCE, (req, res) => {
    const session = sessionOf(req, res, 'PATCH, DELETE, OPTIONS');
    session.close('publisher ended (DELETE)');
    res.status(200).end();
  });

  router.patch(
    RESOURCE,
    (req, res, next) => {
      sessionOf(req, res, 'PATCH, DELETE, OPTIONS');
      if (mediaType(req) !== 'application/trickle-ice-sdpfrag') {
        throw new AppError('unsupported_media_type', 'PATCH takes Content-Type: application/trickle-ice-sdpfrag', 415);
      }
      next();
    },
    text({ type: () => true, limit: MAX_FRAGMENT_BYTES }),
    async (req, res) => {
      const session = sessionOf(req, res, 'PATCH, DELETE, OPTIONS');
      const ifMatch = req.get('if-match');
      if (ifMatch && ifMatch !== '*' && ifMatch !== session.etag) throw new AppError('etag_mismatch', 'If-Match does not match the session ETag', 412);
      const frag = parseTrickleFragment(typeof req.body === 'string' ? req.body : '');
      const ufrag = session.remoteIceUfrag;
      if (ifMatch === '*' || (frag.ufrag && ufrag && frag.ufrag !== ufrag)) {
        throw new AppError('ice_restart_unsupported', 'ICE restarts are not supported; start a new session (DELETE, then POST)', 422);
      }
      await session.addCandidates(frag);
      res.status(204).end();
    },
  );

  for (const path of [ENDPOINT, RESOURCE]) {
    router.all(path, (req, res) => {
      const allow = path === ENDPOINT ? 'POST, OPTIONS' : 'PATCH, DELETE, OPTIONS';
      cors(res, allow);
      res.setHeader('Allow', allow);
      res.status(405).json({ error: { code: 'method_not_allowed', message: `${req.method} is not allowed here (allowed: ${allow})` } });
    });
  }

  router.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = toAppError(err);
    if (e.status >= 500) log.error({ err: e.message, path: req.path }, 'whip request failed');
    else log.info({ code: e.code, status: e.status, path: req.path, method: req.method }, 'whip request refused');
    if (res.headersSent) return void res.end();
    if (e.status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
    res.status(e.status).json({ error: { code: e.code, message: e.message } });
  });

  return router;
}

function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as { status?: number; type?: string };
  if (e?.type === 'entity.too.large' || e?.status === 413) {
    return new AppError('payload_too_large', `the body is larger than the ${Math.round(MAX_OFFER_BYTES / 1024)} KiB a WHIP request may carry`, 413);
  }
  if (typeof e?.status === 'number' && e.status < 500) return new AppError('bad_request', errorMessage(err), e.status);
  return new AppError('internal', 'internal error', 500, { cause: err });
}

/** The request's media type, lower-case, without parameters. */
function mediaType(req: Request): string {
  return (req.get('content-type') ?? '').split(';', 1)[0].trim().toLowerCase();
}

/** The `Authorization: Bearer` credential; a non-Bearer scheme is refused. */
function bearerToken(req: Request): string | undefined {
  const h = req.get('authorization');
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  if (!m) throw new AppError('unauthorized', 'Authorization must be "Bearer <token>"', 401);
  return m[1];
}

function remoteAddress(req: Request): string {
  return `${req.ip ?? req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0}`;
}

/** RFC 9725 section 4.6 `Link` headers for the configured STUN/TURN servers. */
export function iceServerLinks(settings: WhipServerSettings): string[] {
  const out: string[] = [];
  for (const s of settings.iceServers) {
    for (const url of Array.isArray(s.urls) ? s.urls : [s.urls]) {
      let link = `<${url}>; rel="ice-server"`;
      if (s.username !== undefined) link += `; username="${quote(s.username)}"; credential="${quote(s.credential ?? '')}"; credential-type="password"`;
      out.push(link);
    }
  }
  return out;
}

function quote(s: string): string {
  return s.replace(/["\\]/g, '\\$&');
}
