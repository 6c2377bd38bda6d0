/**
 * The HTTP listener (express): health, the player and panel pages, media files,
 * and whatever routers other modules mount. While shutting down it answers new
 * requests with 503 and lets in-flight ones finish.
 */
import http from 'node:http';
import type { Socket } from 'node:net';

import express, { type Express, type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from '../log/logger.js';
import type { Lifecycle } from '../lifecycle.js';
import { AppError } from '../errors.js';
import { packagePath } from '../package-root.js';
import { pathGuard, pathProblem } from './path-guard.js';
import { sendError, type FastRoute } from './fast-route.js';
import { panelHeaders } from './panel-headers.js';
import { pageHeaders } from './page-headers.js';
import { UpgradeRouter, type UpgradeRoutes } from './upgrades.js';

/** The public/ folder: player and panel pages. */
export const PUBLIC_DIR = packagePath('public');

/** Admits a new socket or closes it (src/limits/connection-limiter.ts). */
export interface SocketGate {
  admitSocket(socket: Socket, refusal?: string): boolean;
}

const BUSY = 'HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 79\r\n\r\n{"error":{"code":"too_many_connections","message":"too many open connections"}}';

export interface HttpServerOptions {
  host: string;
  /** 0 picks a free port (see `port` after start). */
  port: number;
  log: Logger;
  /** Routers mounted in order, after health and before the static pages. */
  routers: Router[];
  /** Milliseconds a client has to send a request's headers (default 20 s). */
  headersTimeoutMs?: number;
  /** Caps open connections (refused ones get 503 and are closed). */
  connections?: SocketGate;
  /** Tried in order before express, after the same drain check and path guard (the media URLs). */
  fastRoutes?: FastRoute[];
  /** express's `trust proxy` (`server.trustProxy`; default `loopback`). */
  trustProxy?: boolean | number | string | string[];
  /** Where play.html may be framed (`server.playerFrameAncestors`; default anywhere). */
  playerFrameAncestors?: string[];
  /** Whether a request may see `/healthz` details (the admin); loopback clients always may. */
  isAdmin?: (req: Request) => Promise<boolean>;
  /** Health details merged into `GET /healthz`. */
  health: () => Record<string, unknown>;
}

export class HttpServer implements Lifecycle {
  readonly app: Express;
  readonly server: http.Server;
  private readonly upgradeRouter: UpgradeRouter;
  private draining = false;
  private readonly log: Logger;

  constructor(private readonly options: HttpServerOptions) {
    this.log = options.log.child({ module: 'http' });
    const app = express();
    app.disable('x-powered-by');
    try {
      app.set('trust proxy', options.trustProxy ?? 'loopback');
    } catch (err) {
      throw new AppError('config_invalid', `server.trustProxy: ${(err as Error).message}`, 500);
    }
    // No answer of ours is to be sniffed into another type (e.g. an uploaded name served as HTML).
    app.use((_req, res, next) => {
      res.setHeader('X-Content-Type-Options', 'nosniff');
      next();
    });
    app.use((req, res, next) => {
      if (!this.draining) return next();
      res.setHeader('Connection', 'close');
      res.status(503).json({ error: { code: 'shutting_down', message: 'server is shutting down' } });
    });
    app.use(pathGuard);
    app.get('/healthz', async (req, res) => {
      res.setHeader('Cache-Control', 'no-store');
      // Anyone may ask whether it is up; the figures (streams, disk, memory) are for the admin or this machine.
      const detailed = isLoopback(req.ip) || ((await options.isAdmin?.(req).catch(() => false)) ?? false);
      res.json(detailed ? { status: 'ok', uptimeSeconds: Math.round(process.uptime()), ...options.health() } : { status: 'ok' });
    });
    for (const r of options.routers) app.use(r);
    app.use('/admin', panelHeaders);
    app.use(pageHeaders(options.playerFrameAncestors ?? ['*']));
    app.use(express.static(PUBLIC_DIR, { index: ['index.html'], dotfiles: 'deny' }));
    app.use((req, res) => {
      res.status(404).json({ error: { code: 'not_found', message: `${req.method} ${req.path} not found` } });
    });
    app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
      const status = err instanceof AppError ? err.status : typeof (err as { status?: unknown })?.status === 'number' ? (err as { status: number }).status : 500;
      const code = err instanceof AppError ? err.code : status < 500 ? 'bad_request' : 'internal';
      const message = status < 500 || err instanceof AppError ? (err as Error).message : 'internal error';
      if (status >= 500) this.log.error({ err: (err as Error)?.message, path: req.path }, 'request failed');
      if (res.headersSent) return void res.end();
      res.status(status).json({ error: { code, message } });
    });
    this.app = app;
    const fast = options.fastRoutes ?? [];
    const ctx = { clientIp: (req: http.IncomingMessage) => this.clientIp(req) };
    const listener = fast.length === 0 ? app : (req: http.IncomingMessage, res: http.ServerResponse) => {
      // Every answer, the fast path's included, says nosniff (express's own middleware sets it again, harmlessly).
      res.setHeader('X-Content-Type-Options', 'nosniff');
      // Draining and bad paths are answered by express's own middleware above, in the same words.
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      if (!this.draining && pathProblem(q < 0 ? url : url.slice(0, q)) === null) {
        try {
          // One context for every request: nothing is allocated per request before a route needs it.
          for (const route of fast) if (route(req, res, ctx)) return;
        } catch (err) {
          this.log.error({ err: (err as Error)?.message, path: req.url?.split('?', 1)[0] }, 'request failed');
          if (!res.headersSent) sendError(res, 500, 'internal', 'internal error');
          else res.destroy();
          return;
        }
      }
      app(req, res);
    };
    const headersTimeout = options.headersTimeoutMs ?? 20_000;
    // Node checks the timeouts every `connectionsCheckingInterval` (30 s by default): checked every second,
    // a connection that sends nothing is closed close to `headersTimeout`, not up to 30 s later.
    this.server = http.createServer({ maxHeaderSize: 16 * 1024, requestTimeout: Math.max(60_000, headersTimeout), headersTimeout, connectionsCheckingInterval: 1_000 }, listener);
    this.server.keepAliveTimeout = 5_000;
    this.upgradeRouter = new UpgradeRouter(this.server);
    const gate = options.connections;
    if (gate) this.server.on('connection', (socket: Socket) => void gate.admitSocket(socket, BUSY));
  }

  /** Upgrade paths other modules serve; every other upgrade is refused (404) and its socket closed. */
  get upgrades(): UpgradeRoutes {
    return this.upgradeRouter;
  }

  async start(): Promise<void> {
    this.upgradeRouter.start();
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.log.info({ host: this.options.host, port: this.port }, 'http listening');
  }

  /**
   * The client's address as express's `req.ip` computes it: X-Forwarded-For is
   * walked from the right only while the hop is trusted (`trust proxy`).
   */
  clientIp(req: http.IncomingMessage): string {
    const trust = this.app.get('trust proxy fn') as (addr: string, i: number) => boolean;
    const socketAddr = req.socket.remoteAddress ?? '';
    const fwd = req.headers['x-forwarded-for'];
    if (!fwd || !trust(socketAddr, 0)) return socketAddr;
    const hops = (Array.isArray(fwd) ? fwd.join(',') : fwd).split(',').map((h) => h.trim()).filter(Boolean).reverse();
    let addr = socketAddr;
    for (let i = 0; i < hops.length; i++) {
      addr = hops[i];
      if (!trust(addr, i + 1)) break;
    }
    return addr;
  }

  get port(): number {
    const a = this.server.address();
    return a && typeof a === 'object' ? a.port : this.options.port;
  }

  /** From now on new requests get 503; in-flight ones go on. */
  drain(): void {
    this.draining = true;
  }

  async stop(): Promise<void> {
    this.draining = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    // In-flight downloads get a moment; then connections are cut so the process can exit.
    const timer = setTimeout(() => this.server.closeAllConnections(), 3000);
    await closed;
    clearTimeout(timer);
    this.upgradeRouter.stop();
  }
}

/** Whether a client address is this machine (127.0.0.0/8, ::1, IPv4-mapped loopback). */
function isLoopback(ip: string | undefined): boolean {
  if (!ip) return false;
  const a = ip.replace(/^::ffff:/i, '');
  return a === '::1' || /^127\./.test(a);
}
