/**
 * Descriptor counting and connection floods for the leak tests: how many
 * descriptors a process holds (/proc/<pid>/fd), and sockets opened from a
 * second loopback address (127.0.0.2) so per-address caps keep the test's own
 * publisher (127.0.0.1) out of the flood's count.
 */
import net from 'node:net';
import { readdirSync, readlinkSync } from 'node:fs';

/** Open descriptors of a process, and how many of them are sockets. */
export function descriptors(pid: number): { total: number; sockets: number } {
  let sockets = 0;
  const fds = readdirSync(`/proc/${pid}/fd`);
  for (const fd of fds) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets++;
    } catch {
      // closed between the listing and the read
    }
  }
  return { total: fds.length, sockets };
}

/** A flood's sockets; `closedByServer` counts those the server ended. */
export interface Flood {
  sockets: net.Socket[];
  closedByServer(): number;
  /** Milliseconds from the flood's start to the last close by the server. */
  lastCloseMs(): number;
  /** Answers received (first line), e.g. `HTTP/1.1 404 Not Found`. */
  firstLines: string[];
  destroy(): void;
}

/**
 * Opens `count` connections to `port` from `localAddress`, each sending
 * `payload` (nothing for an idle connection). The client never closes its
 * side (`allowHalfOpen`), the worst case for the server.
 */
export async function flood(port: number, count: number, payload = '', localAddress = '127.0.0.2'): Promise<Flood> {
  const sockets: net.Socket[] = [];
  const firstLines: string[] = [];
  let closed = 0;
  const t0 = Date.now();
  let lastClose = 0;
  let destroying = false;
  const batch = 50;
  for (let i = 0; i < count; i += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, count - i) }, () => {
        return new Promise<void>((resolve, reject) => {
          const s = net.connect({ host: '127.0.0.1', port, localAddress, allowHalfOpen: true });
          let got = '';
          s.on('data', (d) => {
            if (got.length < 200) {
              got += d.toString('latin1');
              const nl = got.indexOf('\r\n');
              if (nl > 0 && got.length - d.length < nl + 2) firstLines.push(got.slice(0, nl));
            }
          });
          s.on('error', () => undefined);
          // The server's FIN ('end') or RST ('close'), whichever comes first.
          let ended = false;
          const onEnd = () => {
            if (ended || destroying) return;
            ended = true;
            closed++;
            lastClose = Date.now() - t0;
          };
          s.on('end', onEnd);
          s.on('close', onEnd);
          s.once('connect', () => {
            if (payload) s.write(payload);
            resolve();
          });
          s.once('error', reject);
          sockets.push(s);
        });
      }),
    );
  }
  return {
    sockets,
    firstLines,
    closedByServer: () => closed,
    lastCloseMs: () => lastClose,
    destroy() {
      destroying = true;
      for (const s of sockets) s.destroy();
    },
  };
}

/** `GET <path>` asking to switch to protocol `x` (not WebSocket). */
export const upgradeRequest = (path = '/') => `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n`;
