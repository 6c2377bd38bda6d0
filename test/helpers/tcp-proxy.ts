/**
 * A loopback TCP proxy between a publisher and the server, to misbehave the
 * way networks and clients do: `freeze()` stops forwarding the client's bytes
 * while the server's connection stays open (a publisher that stalls), and
 * `blackhole()` stops everything both ways without closing anything (a
 * connection dropped without a FIN or RST, as behind a dead NAT). The
 * server side is never closed by the proxy once frozen: the server must
 * notice by itself.
 */
import net from 'node:net';

export interface TcpProxy {
  port: number;
  /** Stop forwarding client → server; server → client still flows and is read. */
  freeze(): void;
  /** Stop forwarding and reading both ways; nothing is closed. */
  blackhole(): void;
  /** Resolves when the server closed its side of the (first) connection. */
  serverClosed: Promise<number>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let mode: 'pass' | 'frozen' | 'blackhole' = 'pass';
  const sockets = new Set<net.Socket>();
  let resolveServerClosed!: (at: number) => void;
  const serverClosed = new Promise<number>((r) => (resolveServerClosed = r));
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.on('data', (d) => {
      if (mode === 'pass') upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (mode === 'pass') client.write(d);
    });
    // Once frozen, the client's departure is not passed on: the server keeps an open, silent connection.
    client.on('close', () => {
      if (mode === 'pass') upstream.end();
    });
    upstream.on('close', () => {
      resolveServerClosed(Date.now());
      client.destroy();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    freeze: () => void (mode = 'frozen'),
    blackhole() {
      mode = 'blackhole';
      // Not reading: the server's writes fill the socket buffers and are never acknowledged by the application.
      for (const s of sockets) s.pause();
    },
    serverClosed,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
