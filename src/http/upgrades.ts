/**
 * Upgrade requests (`Connection: Upgrade`) by path. Node hands an upgrade's
 * socket to the `upgrade` listeners and forgets it: it is no longer covered by
 * the HTTP timeouts nor by `closeAllConnections()`. So exactly one listener
 * takes every upgrade, gives it to the route registered for its path, and
 * answers any other with 404 and closes the socket, else one descriptor per
 * such request would stay open for as long as the client likes.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';

/** Takes over an upgrade's socket: it must answer it and eventually close it. */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** Where modules register the upgrade paths they serve (the events channel). */
export interface UpgradeRoutes {
  /** Serves upgrades of `path` (query string ignored); the returned function removes the route. */
  add(path: string, handler: UpgradeHandler): () => void;
}

/** A refused upgrade's socket is destroyed this long after the answer at the latest (a peer that never reads). */
const REFUSE_LINGER_MS = 2_000;

/** The one `upgrade` listener of an HTTP server. */
export class UpgradeRouter implements UpgradeRoutes {
  private readonly routes = new Map<string, UpgradeHandler>();
  private readonly listener = (req: IncomingMessage, socket: Duplex, head: Buffer) => this.dispatch(req, socket, head);

  constructor(private readonly server: Server) {}

  add(path: string, handler: UpgradeHandler): () => void {
    this.routes.set(path, handler);
    return () => {
      if (this.routes.get(path) === handler) this.routes.delete(path);
    };
  }

  /** Starts taking upgrades (also when no route is registered: they are all refused then). */
  start(): void {
    this.server.on('upgrade', this.listener);
  }

  stop(): void {
    this.server.off('upgrade', this.listener);
  }

  private dispatch(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // A socket error after the hand-over would otherwise be an uncaught exception.
    socket.on('error', () => socket.destroy());
    const handler = this.routes.get(pathOf(req));
    if (!handler) return refuseUpgrade(socket, 404, 'not_found', 'no upgrade is offered on this path');
    try {
      handler(req, socket, head);
    } catch {
      refuseUpgrade(socket, 500, 'internal', 'internal error');
    }
  }
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

const REASONS: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable' };

/**
 * Answers an upgrade with an HTTP error (JSON like the rest of the API) and
 * closes the socket: destroyed once the answer is written, or after a short
 * linger if the peer does not read it. `end()` alone would leave a half-open
 * socket for as long as the peer keeps its side open.
 */
export function refuseUpgrade(socket: Duplex, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: { code, message } });
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const linger = setTimeout(() => socket.destroy(), REFUSE_LINGER_MS);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Content-Type-Options: nosniff\r\n${extra}Connection: close\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}
