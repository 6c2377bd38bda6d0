/**
 * A test's view of the server's `/api/v1/events` WebSocket: the facts the
 * server publishes (a stream started or ended, a recording started, one of
 * its parts or the whole recording completed, a file uploaded or an upload
 * attempt failed …) collected from the moment the server is ready, so a test
 * waits on what happened rather than on how a log line is worded.
 *
 *   const started = await server.events.waitFor('recording.started', (e) => e.streamId === 'cam1', 15_000, 'recording of cam1');
 *
 * Past events count (as past log lines do), so a wait started after the fact
 * still resolves. Events that happen before the server is ready (a recording
 * finalized at start-up after a crash) are not on the channel: read those
 * through the REST API.
 */
import WebSocket from 'ws';
import type { BusEvents } from '../../src/events/types.js';
import type { ApiClient } from './api.js';

/** A recording as `GET /api/v1/recordings` lists it (the fields tests read). */
export interface ListedRecording {
  recordingId: string;
  app: string;
  streamId: string;
  name: string;
  startedAt: string;
  endedAt: string;
  durationSeconds: number;
  recovered: boolean;
  inProgress: boolean;
  uploadState: 'local' | 'queued' | 'uploading' | 'uploaded' | 'failed';
  [more: string]: unknown;
}

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
    /** The admin session the channel was opened with, for the REST API. */
    readonly api: ApiClient,
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
  static open(api: ApiClient, context: () => string = () => ''): Promise<ServerEvents> {
    const headers: Record<string, string> = {};
    if (api.auth.cookie) headers.cookie = api.auth.cookie;
    if (api.auth.token) headers.authorization = `Bearer ${api.auth.token}`;
    const ws = new WebSocket(`${api.base.replace(/^http/, 'ws')}/api/v1/events`, { headers });
    const events = new ServerEvents(ws, context, api);
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

  /**
   * Polls `GET /api/v1/recordings` until a recording matches: for what may have
   * happened before the channel opened (a recording finalized at start-up).
   */
  async waitForRecording(pred: (r: ListedRecording) => boolean, timeoutMs = 30_000, what = 'a recording'): Promise<ListedRecording> {
    const end = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const res = await this.api.get('/api/v1/recordings?limit=500');
      last = res.text;
      const found = res.status === 200 ? (res.json.recordings as ListedRecording[]).find(pred) : undefined;
      if (found) return found;
      if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last answer: ${last.slice(0, 2000)}\nlast output:\n${this.context()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** When the server sent the event whose payload `waitFor` or `all` returned (ms since the epoch). */
  sentAt(data: unknown): number {
    const m = this.messages.find((x) => x.data === data);
    if (!m) throw new Error('sentAt: not a payload of this channel');
    return Date.parse(m.at);
  }

  close(): void {
    this.ws.close();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}
