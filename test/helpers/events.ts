/**
 * A test's view of the server's `/api/v1/events` WebSocket: the facts the
 * server publishes (a stream started or ended, a recording started, one of
 * its parts or the whole recording completed, a file uploaded or an upload
 * attempt failed …) collected from the moment the server is ready, so a test
 * waits on what happened rather than on how a log line is worded.
 *
 *   const started = await server.events.waitFor('recording.started', (e) => e.streamId === 'cam1', 15_000, 'recording of cam1');
 *
 * Past events count (like `waitForLog`), so a wait started after the fact
 * still resolves. Events that happen before the server is ready (a recording
 * finalized at start-up after a crash) are not on the channel: read those
 * through the REST API.
 */
import WebSocket from 'ws';
import type { BusEvents } from '../../src/events/types.js';

/** `recording.uploaded`: every file of a recording meant for the bucket is there. */
export interface RecordingUploaded {
  recordingId: string;
  app: string;
  streamId: string;
  name: string;
}

/**
 * Payloads as the channel sends them: the bus events (local `path`s of
 * recorded files and parts are left out) plus `recording.uploaded`; in a
 * cluster an event relayed from another node names it in `node`.
 */
export type ChannelEvents = { [K in keyof BusEvents]: BusEvents[K] & { node?: string } } & { 'recording.uploaded': RecordingUploaded & { node?: string } };
export type EventType = keyof ChannelEvents;

export interface ChannelMessage {
  type: string;
  data: any;
  at: string;
}

export class ServerEvents {
  /** Every message since the channel opened (`hello` first). */
  readonly messages: ChannelMessage[] = [];
  private readonly waiters = new Set<() => void>();
  private closedWith?: string;

  private constructor(
    private readonly ws: WebSocket,
    /** The server's last output, for failure messages. */
    private readonly context: () => string,
  ) {
    ws.on('message', (m) => {
      this.messages.push(JSON.parse(String(m)) as ChannelMessage);
      this.wake();
    });
    ws.on('close', (code) => {
      this.closedWith = `the events channel closed (${code})`;
      this.wake();
    });
    ws.on('error', () => undefined);
  }

  /** Opens the channel with a session cookie or a bearer token; resolves once `hello` came. */
  static open(httpUrl: string, auth: { cookie?: string; token?: string }, context: () => string = () => ''): Promise<ServerEvents> {
    const headers: Record<string, string> = {};
    if (auth.cookie) headers.cookie = auth.cookie;
    if (auth.token) headers.authorization = `Bearer ${auth.token}`;
    const ws = new WebSocket(`${httpUrl.replace(/^http/, 'ws')}/api/v1/events`, { headers });
    const events = new ServerEvents(ws, context);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the events channel sent no hello in 10 s')), 10_000);
      ws.on('message', () => {
        clearTimeout(timer);
        resolve(events);
      });
      ws.on('unexpected-response', (_req, res) => {
        clearTimeout(timer);
        reject(new Error(`the events channel was refused: ${res.statusCode}`));
      });
      ws.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /** Payloads of every event of `type` so far that match. */
  all<K extends EventType>(type: K, pred: (e: ChannelEvents[K]) => boolean = () => true): Array<ChannelEvents[K]> {
    return this.messages.filter((m) => m.type === type && pred(m.data)).map((m) => m.data as ChannelEvents[K]);
  }

  /**
   * Resolves with the first event of `type` (past ones included) for which
   * `pred` holds; rejects after `timeoutMs`, or when the channel closes (the
   * server stopped), with `what` and the last events and log lines.
   */
  waitFor<K extends EventType>(type: K, pred: (e: ChannelEvents[K]) => boolean = () => true, timeoutMs = 30_000, what: string = type): Promise<ChannelEvents[K]> {
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        done();
        const recent = this.messages.slice(-10).map((m) => `${m.type} ${JSON.stringify(m.data)}`).join('\n');
        reject(new Error(`${why} waiting for ${what}; last events:\n${recent}\nlast output:\n${this.context()}`));
      };
      const check = () => {
        const found = this.messages.find((m) => m.type === type && pred(m.data));
        if (found) {
          done();
          resolve(found.data as ChannelEvents[K]);
        } else if (this.closedWith) fail(this.closedWith);
      };
      const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  close(): void {
    this.ws.close();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}
