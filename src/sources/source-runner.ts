/**
 * One source's life: start ffmpeg, wait for media, claim the stream id in the
 * registry like any publisher, stay live until the far end drops, then try
 * again with backoff. Its state is what the API shows:
 *   disabled    `enabled: false`
 *   idle        `onDemand` and nobody asked for it lately
 *   connecting  ffmpeg is connecting (or, for an SRT listener, waiting for a caller)
 *   live        media flows and the stream is published
 *   failed      the last attempt failed (`lastError`); the next one is at `nextAttemptAt`
 */
import type { DestinationSpec } from '../storage/destinations/output.js';
import type { DestinationBook } from '../storage/destinations/book.js';
import type { SourceSettings } from '../config/sources-schema.js';
import type { Logger } from '../log/logger.js';
import type { StreamRegistry } from '../ingest/stream-registry.js';
import type { PublishRequest } from '../ingest/types.js';
import { backoffMs } from '../queue/backoff.js';
import { PullSession, redact } from './pull-session.js';
import { SrtGate } from './srt-gate.js';
import { isKind, remoteOf, sourceKind, type SourceKind } from '../config/source-url.js';
import { inputArgs, protocolOf } from './ffmpeg-input.js';

export type SourceState = 'disabled' | 'idle' | 'connecting' | 'live' | 'failed';

export interface SourceDef extends Omit<SourceSettings, 'url' | 'output'> {
  app: string;
  /** Null: stored sealed and not readable with the current server key. */
  url: string | null;
  /** Where its recordings go (issue 18); none: the app's rules, else its bucket. Null: sealed and not readable. */
  output?: DestinationSpec | null;
  origin: 'config' | 'api';
}

export interface RunnerDeps {
  ffmpegPath: string;
  registry: Pick<StreamRegistry, 'claim' | 'release'>;
  /** Requests the registry admits without a publish credential (see `sourceAuthorizer`). */
  trusted: WeakSet<PublishRequest>;
  /** Bind address of SRT listeners (the server's `host`). */
  bindHost: string;
  /** Longest wait between two attempts. */
  maxBackoffMs: number;
  /** A source that sends nothing this long once live is dropped and retried. */
  stallMs: number;
  /** An on-demand source stops this long after the last request for it. */
  onDemandIdleMs: number;
  onState: (r: SourceRunner) => void;
  /** The storage module's destination book: a source with an `output` asks for it before each session is published. */
  outputs?: { book(): Pick<DestinationBook, 'setPending' | 'clearPending'> | undefined };
  log: Logger;
}

/** A source live at least this long starts its backoff over when it drops. */
const STABLE_MS = 10_000;

export class SourceRunner {
  state: SourceState = 'connecting';
  lastError: string | null = null;
  since = new Date();
  nextAttemptAt: Date | null = null;
  attempts = 0;
  session: PullSession | null = null;
  readonly kind: SourceKind | null;
  private transcodeAudio = false;
  private transcodeVideo = false;
  private stopped = false;
  private announced = false;
  private wakeUp: (() => void) | null = null;
  private demandUntil = 0;
  private loop: Promise<void> = Promise.resolve();
  private readonly log: Logger;

  constructor(
    readonly def: SourceDef,
    private readonly deps: RunnerDeps,
  ) {
    const k = def.url === null ? null : sourceKind(def.url);
    this.kind = k && isKind(k) ? k : null;
    this.log = deps.log.child({ module: 'sources', app: def.app, streamId: def.streamId });
  }

  start(): void {
    this.loop = this.run().catch((err) => this.log.error({ err: redact(String(err)) }, 'source loop failed'));
  }

  /** Stops pulling; resolves once ffmpeg is gone and the stream released. */
  async stop(reason = 'source removed'): Promise<void> {
    this.stopped = true;
    this.session?.close(reason);
    this.wake();
    await this.loop;
  }

  /** Someone asked for the stream (an on-demand source starts, or stays up). */
  touch(): void {
    if (!this.def.onDemand) return;
    this.demandUntil = Date.now() + this.deps.onDemandIdleMs;
    if (this.state === 'idle') this.wake();
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = null;
    w?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = Number.isFinite(ms) ? setTimeout(() => this.wake(), ms) : null;
      this.wakeUp = () => {
        if (t) clearTimeout(t);
        resolve();
      };
    });
  }

  private set(state: SourceState, error?: string | null): void {
    // The first state of a runner is always announced (a new or changed source starts `connecting` too).
    const changed = !this.announced || state !== this.state || (error !== undefined && error !== this.lastError);
    this.announced = true;
    this.state = state;
    if (error !== undefined) this.lastError = error;
    if (state !== 'failed') this.nextAttemptAt = null;
    if (changed) {
      this.since = new Date();
      this.deps.onState(this);
    }
  }

  /** An SRT listener refused a caller: the source keeps listening, the API shows why in `lastError`. */
  private refusedCaller(why: string): void {
    if (this.lastError === why) return;
    this.lastError = why;
    this.deps.onState(this);
  }

  private async fail(error: string): Promise<void> {
    this.attempts++;
    const wait = backoffMs(this.attempts, this.deps.maxBackoffMs);
    this.nextAttemptAt = new Date(Date.now() + wait);
    this.set('failed', error);
    this.log.warn({ err: error, attempt: this.attempts, retryInMs: wait }, 'source failed');
    await this.sleep(wait);
  }

  private async run(): Promise<void> {
    const { def } = this;
    while (!this.stopped) {
      if (!def.enabled) {
        this.set('disabled', null);
        await this.sleep(Infinity);
        continue;
      }
      if (def.url === null || this.kind === null) {
        this.set('failed', def.url === null ? 'the stored URL cannot be decrypted (the server key changed): enter the URL again' : 'unsupported URL');
        await this.sleep(Infinity);
        continue;
      }
      if (def.onDemand && Date.now() >= this.demandUntil) {
        this.set('idle', null);
        await this.sleep(Infinity);
        continue;
      }
      if (this.kind === 'hls') {
        const ended = await hlsEnded(def.url);
        if (ended) {
          await this.fail(ended);
          continue;
        }
      }
      await this.attempt(def.url, this.kind);
    }
    this.set('disabled');
  }

  private async attempt(url: string, kind: SourceKind): Promise<void> {
    this.set('connecting');
    // An SRT listener that names a `streamid`: the server holds the port and lets only that stream id through.
    const sid = kind === 'srt-listener' ? new URL(url.replace(/^srt:\/\/:(\d+)/i, 'srt://0.0.0.0:$1')).searchParams.get('streamid') : null;
    let gate: SrtGate | null = null;
    let listen: string | undefined;
    if (kind === 'srt-listener') {
      listen = listenerUrl(url, this.deps.bindHost);
      if (sid) {
        gate = new SrtGate({ bindHost: this.deps.bindHost, port: Number(new URL(listen).port), streamId: sid, log: this.log, onRefused: (_a, got) => this.refusedCaller(`SRT caller refused: wrong streamid "${got ?? ''}"`) });
        try {
          listen = listenerUrl(url, '127.0.0.1', await gate.start());
        } catch (err) {
          gate.close();
          return this.fail(`cannot listen on the SRT port: ${(err as Error).message}`);
        }
      }
    }
    try {
      await this.pull(url, kind, listen, gate);
    } finally {
      gate?.close();
    }
  }

  private async pull(url: string, kind: SourceKind, listen: string | undefined, gate: SrtGate | null): Promise<void> {
    const { def, deps } = this;
    const s = new PullSession({
      ffmpegPath: deps.ffmpegPath,
      app: def.app,
      streamId: def.streamId,
      protocol: protocolOf(kind),
      remoteAddress: remoteOf(url),
      input: inputArgs(url, kind, { rtspTransport: def.rtspTransport, listenerUrl: listen }),
      transcodeAudio: this.transcodeAudio,
      transcodeVideo: this.transcodeVideo,
      stallMs: deps.stallMs,
      onStderr: kind === 'srt-listener' ? (line) => /Incorrect passphrase|BADSECRET/.test(line) && this.refusedCaller('SRT caller refused: wrong passphrase') : undefined,
      log: this.log,
    });
    this.session = s;
    s.start();
    const got = await s.firstData;
    if (!got || this.stopped) {
      s.close('source stopped');
      const exit = await s.exited;
      this.session = null;
      if (this.stopped) return;
      if (exit.needs === 'audio' && !this.transcodeAudio) {
        this.transcodeAudio = true;
        this.log.info('FLV cannot carry the source audio: transcoding it to AAC');
        return;
      }
      if (exit.needs === 'video' && !this.transcodeVideo) {
        this.transcodeVideo = true;
        this.log.warn('this ffmpeg cannot carry the source video in FLV (H.265 needs ffmpeg 6.1+): transcoding it to H.264');
        return;
      }
      // An SRT listener whose caller came and went without media: listen again at once.
      if (kind === 'srt-listener' && exit.clean) return;
      return this.fail(exit.error ?? 'the source ended before sending media');
    }
    s.startedAt = new Date();
    if (gate?.caller) s.remoteAddress = gate.caller;
    const req: PublishRequest = { app: def.app, streamId: def.streamId, protocol: s.protocol, remoteAddress: s.remoteAddress };
    deps.trusted.add(req);
    // Each session of the source (each reconnection) records to its output, as a recording started by hand with it would.
    const book = def.output ? deps.outputs?.book() : undefined;
    if (def.output) book?.setPending(def.app, def.streamId, def.output, s.id);
    const decision = await deps.registry.claim(req, s);
    if (!decision.ok) {
      book?.clearPending(def.app, def.streamId, s.id);
      s.close(`refused: ${decision.code}`);
      await s.exited;
      this.session = null;
      return this.fail(`${decision.code}: ${decision.reason}`);
    }
    this.set('live', null);
    const liveAt = Date.now();
    const demand = def.onDemand
      ? setInterval(() => {
          if (Date.now() >= this.demandUntil) s.close('no viewer (on demand)');
        }, 1000)
      : null;
    const reason = await s.closed;
    if (demand) clearInterval(demand);
    deps.registry.release(s, reason);
    const exit = await s.exited;
    this.session = null;
    if (this.stopped) return;
    if (Date.now() - liveAt >= STABLE_MS) this.attempts = 0;
    this.log.info({ reason, bytes: exit.bytes }, 'source dropped');
    if (exit.clean && !exit.error) {
      // The far end finished (a live HLS playlist ended, an SRT caller hung up): connect again.
      this.set('connecting', null);
      if (kind !== 'srt-listener') await this.sleep(1000);
      return;
    }
    return this.fail(exit.error ?? reason);
  }
}

/** ffmpeg's URL for an SRT listener: the server's bind address, the port, `mode=listener` and the SRT options except `streamid` (checked by the server). */
export function listenerUrl(raw: string, bindHost: string, port?: number): string {
  const u = new URL(raw.replace(/^srt:\/\/:(\d+)/i, 'srt://0.0.0.0:$1'));
  const out = new URL(`srt://${bindHost.includes(':') ? `[${bindHost}]` : bindHost}:${port ?? u.port}`);
  for (const [k, v] of u.searchParams) if (k !== 'streamid' && k !== 'mode') out.searchParams.set(k, v);
  out.searchParams.set('mode', 'listener');
  return out.toString();
}

/**
 * Why an HLS source is not live, or null: a playlist that ended (`#EXT-X-ENDLIST`, also in the first variant of a
 * master playlist) would be recorded again at each reconnect. A playlist that cannot be read is left to ffmpeg,
 * whose error is the one shown.
 */
export async function hlsEnded(url: string): Promise<string | null> {
  const read = async (u: string) => {
    const res = await fetch(u, { signal: AbortSignal.timeout(10_000) });
    return res.ok ? res.text() : null;
  };
  try {
    let text = await read(url);
    if (text === null) return null;
    const variant = /#EXT-X-STREAM-INF[^\n]*\n\s*([^#\s][^\n]*)/.exec(text);
    if (variant) text = await read(new URL(variant[1].trim(), url).toString());
    return text !== null && /^#EXT-X-ENDLIST/m.test(text) ? 'the HLS playlist has ended (#EXT-X-ENDLIST): import a finished file instead' : null;
  } catch {
    return null;
  }
}
