/**
 * A `LISTEN` on one channel over a dedicated connection (a pooled one would
 * be handed to other queries). When the connection drops it reconnects (1 s,
 * then doubling up to 10 s) and tells the listener `null`: notifications sent
 * meanwhile are lost, so the listener re-reads what it watches.
 */
import pg from 'pg';
import { errorMessage } from '../../errors.js';

export interface Listening {
  /** Stops listening and closes the connection; safe to call twice. */
  close(): Promise<void>;
}

/** Listens on `channel`; `onPayload(null)` after a reconnect; `onError` for each connection failure. */
export async function listen(
  url: string,
  channel: string,
  onPayload: (payload: string | null) => void,
  onError: (message: string) => void = () => undefined,
): Promise<Listening> {
  let client: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let delay = 1000;

  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url });
    c.on('notification', (m) => {
      if (m.channel === channel) onPayload(m.payload ?? '');
    });
    c.on('error', (err) => lost(c, err));
    c.on('end', () => lost(c, new Error('connection ended')));
    client = c;
    await c.connect();
    // A channel is an identifier: quoted, so any name works.
    await c.query(`LISTEN "${channel.replace(/"/g, '""')}"`);
    delay = 1000;
  };

  const lost = (c: pg.Client, err: Error) => {
    if (closed || client !== c) return;
    client = undefined;
    onError(errorMessage(err));
    c.end().catch(() => undefined);
    schedule();
  };

  const schedule = () => {
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      connect().then(
        () => onPayload(null),
        (err) => {
          const c = client;
          client = undefined;
          c?.end().catch(() => undefined);
          onError(errorMessage(err));
          delay = Math.min(delay * 2, 10_000);
          schedule();
        },
      );
    }, delay);
    retry.unref();
  };

  await connect();
  return {
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(retry);
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}
