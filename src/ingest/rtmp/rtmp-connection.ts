/**
 * One RTMP client connection: handshake, chunk stream, commands, and media
 * into the stream's FLV feed.
 *
 * Design note: the server answers `publish` with `NetStream.Publish.Start` only
 * after the registry accepted the stream, answers a refusal with an error
 * status, and ends the session the moment the socket closes. Playback over RTMP is not offered (viewers use HLS).
 * Until the publish is accepted media messages are dropped and only a small
 * buffer budget applies, so a client that never publishes costs little.
 */
import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { parse as parseQuery } from 'node:querystring';
import type { Logger } from '../../log/logger.js';
import { errorMessage } from '../../errors.js';
import type { MediaFeed, PublisherSession, PublishRegistry, RefusalCode, StreamStats } from '../types.js';
import { FlvFeed } from './flv-feed.js';
import { ChunkParser, RtmpProtocolError } from './chunk-parser.js';
import { HANDSHAKE_SIZE, RTMP_VERSION, handshakeReply } from './handshake.js';
import { Amf0Reader, type Amf0Value } from './amf0.js';
import * as out from './rtmp-writer.js';
import { MSG } from './rtmp-writer.js';
import type { ReadPacer } from './read-pacer.js';
import { PublisherLag } from './publisher-lag.js';
import { AckTiming } from './ack-timing.js';

/** Chunk streams a client may open; real encoders use fewer than 10. */
const MAX_CHUNK_STREAMS = 64;
/**
 * Bytes of partly received messages one connection may hold, over all its chunk
 * streams. Before its publish is accepted a client only sends commands (a few
 * hundred bytes each); afterwards media, whose largest messages are keyframes.
 * Without a cap 64 chunk streams declaring 16 MiB each would cost 1 GiB.
 */
const MAX_BUFFERED_BEFORE_PUBLISH = 1024 * 1024;
const MAX_BUFFERED_PUBLISHING = 48 * 1024 * 1024;
/** RTMP's largest chunk size: the first bit of Set Chunk Size must be 0. */
const MAX_CHUNK_SIZE = 0x7fffffff;
/** The acknowledgement window the server announces (bytes the client may send between acks). */
const WINDOW_ACK_SIZE = 5_000_000;
/** The message stream id `createStream` answers with; one publish per connection. */
const MEDIA_STREAM_ID = 1;
/** What one socket read brings at most (libuv reads 64 KiB): a read this size may have left more in the kernel. */
const FULL_READ = 64 * 1024;
/** A hold at least this long is logged when it ends (shorter ones are the normal give and take of a burst). */
const HELD_LOG_MS = 1000;

type Phase = 'c0' | 'c1' | 'c2' | 'chunks';

export interface RtmpConnectionOptions {
  socket: Socket;
  registry: PublishRegistry;
  log: Logger;
  /** Milliseconds without a byte from the client before it is dropped. */
  idleTimeoutMs: number;
  /** Milliseconds a connection may take from connect to an accepted publish (a slow drip of bytes keeps it from idling out). */
  publishDeadlineMs: number;
  /**
   * Paces the socket's reads while publishing (see read-pacer.ts); without it every read is handled at once. The
   * socket's readable high-water mark should be small (the server's `highWaterMark: 1`), so that a socket waiting for
   * its tick stops reading after one read and the kernel holds the rest.
   */
  pacer?: ReadPacer;
}

export class RtmpConnection implements PublisherSession {
  readonly id = randomUUID();
  readonly protocol = 'rtmp' as const;
  readonly remoteAddress: string;
  readonly startedAt = new Date();
  readonly closed: Promise<string>;
  app = '';
  streamId = '';
  /** The app named in the RTMP `connect` command (may carry a `?query`). */
  connectApp = '';
  private readonly parser: ChunkParser;
  private readonly feed: FlvFeed;
  private state: 'connected' | 'authorizing' | 'publishing' | 'closing' = 'connected';
  private phase: Phase = 'c0';
  private handshake: Buffer | null = Buffer.allocUnsafe(HANDSHAKE_SIZE);
  private handshakeGot = 0;
  private connected = false;
  /** Message stream id of the `publish` command, for its status replies. */
  private publishStreamId = 0;
  private bytesIn = 0;
  private closeReason = 'publisher closed';
  private resolveClosed!: (reason: string) => void;
  private log: Logger;
  /** The feed holds the publisher back (a recorder behind): nothing is read, so TCP pushes back. */
  private held = false;
  private heldSince = 0;
  private reading = false;
  /** Whether the publisher fell behind real time waiting for our reads (then it is read soon). */
  private readonly lag = new PublisherLag();
  /** Held since the last paced read, or that read found the publisher behind real time (publisher-lag.ts). */
  private backlog = false;
  /** Bytes taken from the kernel since this connection last waited for the pacer. */
  private readSinceWait = 0;
  /** When the publisher gets its Acknowledgements (ack-timing.ts). */
  private readonly acks: AckTiming;
  private readonly readNow = (): void => this.readSocket();

  constructor(private readonly options: RtmpConnectionOptions) {
    const { socket } = options;
    this.remoteAddress = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    this.log = options.log.child({ protocol: 'rtmp', remoteAddress: this.remoteAddress });
    this.closed = new Promise((r) => (this.resolveClosed = r));
    this.acks = new AckTiming(
      { lag: this.lag, send: (bytes) => this.send(out.ack(bytes % 0x100000000)), held: () => this.held, backlogged: () => this.backlog },
      WINDOW_ACK_SIZE,
    );
    this.parser = new ChunkParser({
      maxChunkStreams: MAX_CHUNK_STREAMS,
      maxBuffered: () => (this.publishing ? MAX_BUFFERED_PUBLISHING : MAX_BUFFERED_BEFORE_PUBLISH),
      onMessage: (type, sid, ts, payload) => this.onMessage(type, sid, ts, payload),
    });
    // A recorder behind the publisher (a file pushed faster than real time) stops reads from the socket, so TCP
    // slows the publisher down. The idle timeout is off meanwhile: the silence is ours, not the publisher's.
    this.feed = new FlvFeed({
      pause: () => {
        this.held = true;
        this.backlog = true;
        this.heldSince = Date.now();
        socket.setTimeout(0);
      },
      resume: () => {
        this.held = false;
        // Paced: the backlog a hold leaves is over when a paced read finds the publisher caught up (onReadable).
        if (!options.pacer) this.backlog = false;
        // An operator sees a publisher slowed down by its recorder (a slow disk, a loaded machine) once per hold.
        const heldMs = Date.now() - this.heldSince;
        if (heldMs >= HELD_LOG_MS) this.log.warn({ app: this.app, streamId: this.streamId, heldMs }, 'publisher held back while its recorder caught up');
        if (socket.destroyed) return;
        socket.setTimeout(options.idleTimeoutMs);
        setImmediate(this.readNow);
      },
    });
    socket.setNoDelay(true);
    socket.setTimeout(options.idleTimeoutMs, () => this.close('idle timeout'));
    const deadline = setTimeout(() => {
      if (this.state === 'connected') this.close('no publish in time');
    }, options.publishDeadlineMs);
    deadline.unref();
    void this.closed.then(() => clearTimeout(deadline));
    // Paused mode: the socket's data is taken with read() when this connection is ready for it (see onReadable).
    socket.on('readable', () => this.onReadable());
    socket.on('error', (err) => this.log.debug({ err: err.message }, 'rtmp socket error'));
    socket.on('close', () => this.onSocketClose());
  }

  private send(buf: Buffer): void {
    const { socket } = this.options;
    if (!socket.destroyed && socket.writable) socket.write(buf);
  }

  /**
   * The socket has data (or its end). Before the publish is accepted (handshake, commands) it is read at once; while
   * publishing, at the pacer's next tick unless the read came back full. Held by the feed: not read at all.
   */
  private onReadable(): void {
    const { socket, pacer } = this.options;
    if (this.heldBack) return;
    if (!pacer || this.state !== 'publishing' || socket.readableLength >= FULL_READ) return this.readSocket();
    // What this wait leaves buffered came from the kernel in this round: counted here, not again in the next.
    const behind = (this.backlog = this.lag.behind(Date.now(), this.readSinceWait + socket.readableLength));
    this.readSinceWait = -socket.readableLength;
    if (behind) pacer.soon(this.readNow);
    else pacer.later(this.readNow);
  }

  /** Not read while the feed holds the publisher back; a closing connection is read to its end (and dropped). */
  private get heldBack(): boolean {
    return this.held && this.state !== 'closing';
  }

  private readSocket(): void {
    const { socket } = this.options;
    if (this.reading) return;
    this.reading = true;
    try {
      let data: Buffer | null;
      while (!this.heldBack && (data = socket.read() as Buffer | null) !== null) {
        this.readSinceWait += data.length;
        this.onData(data);
      }
      // A paced read brings a tick's worth of media: it goes to the recorders in the same turn (one wakeup for both).
      if (this.options.pacer && this.state === 'publishing') this.feed.flushNow();
    } finally {
      this.reading = false;
    }
  }

  /** Socket data: nothing thrown here may leave the handler (it would be an uncaught exception). */
  private onData(data: Buffer): void {
    if (this.state === 'closing') return;
    try {
      this.bytesIn += data.length;
      const rest = this.phase === 'chunks' ? data : this.readHandshake(data);
      if (rest && rest.length > 0) this.parser.push(rest);
      this.acks.received(this.bytesIn); // nothing once the connection is closing
    } catch (e) {
      const err = errorMessage(e);
      if (!(e instanceof RtmpProtocolError)) this.log.error({ err }, 'rtmp connection failed');
      this.log.warn({ err }, 'rtmp protocol error, closing connection');
      this.close('protocol error');
    }
  }

  /** Consumes handshake bytes; returns what follows the handshake in this read. */
  private readHandshake(data: Buffer): Buffer | null {
    let pos = 0;
    if (this.phase === 'c0') {
      if (data[0] !== RTMP_VERSION) throw new RtmpProtocolError(`unsupported rtmp version ${data[0]}`);
      this.phase = 'c1';
      pos = 1;
    }
    while (pos < data.length && this.phase !== 'chunks') {
      const n = Math.min(HANDSHAKE_SIZE - this.handshakeGot, data.length - pos);
      if (this.phase === 'c1') data.copy(this.handshake!, this.handshakeGot, pos, pos + n);
      this.handshakeGot += n;
      pos += n;
      if (this.handshakeGot < HANDSHAKE_SIZE) break;
      this.handshakeGot = 0;
      if (this.phase === 'c1') {
        this.send(handshakeReply(this.handshake!));
        this.phase = 'c2';
      } else {
        this.handshake = null; // C2 is not checked: encoders differ in what they echo
        this.phase = 'chunks';
      }
    }
    return this.phase === 'chunks' ? data.subarray(pos) : null;
  }

  private onMessage(type: number, sid: number, ts: number, payload: Buffer): void {
    if (this.state === 'closing') return;
    switch (type) {
      case MSG.SET_CHUNK_SIZE: {
        if (payload.length < 4) throw new RtmpProtocolError('truncated Set Chunk Size message');
        const size = payload.readUInt32BE(0);
        if (size < 1 || size > MAX_CHUNK_SIZE) throw new RtmpProtocolError(`invalid chunk size ${size}`);
        this.parser.setChunkSize(size);
        return;
      }
      case MSG.ABORT:
        if (payload.length >= 4) this.parser.abort(payload.readUInt32BE(0));
        return;
      case MSG.WINDOW_ACK_SIZE:
        // The client's window: how many bytes it sends before it wants our acknowledgement.
        if (payload.length >= 4) this.acks.window = Math.max(4096, payload.readUInt32BE(0));
        return;
      case MSG.COMMAND_AMF0:
        return this.onCommand(sid, payload);
      case MSG.COMMAND_AMF3:
        return this.onCommand(sid, payload.subarray(1));
      case MSG.AUDIO:
      case MSG.VIDEO:
        if (!this.acceptsMedia) return;
        this.lag.media(ts, Date.now());
        this.feed.push(type, ts, payload);
        return;
      case MSG.DATA_AMF0:
        return this.onData0(payload);
      case MSG.DATA_AMF3:
        return this.onData0(payload.subarray(1));
      case MSG.AGGREGATE:
        if (this.acceptsMedia) this.onAggregate(ts, payload);
        return;
      default:
        return; // Ack, User Control (ping replies), Set Peer Bandwidth, shared objects: nothing to do
    }
  }

  private get acceptsMedia(): boolean {
    return this.state === 'publishing' || this.state === 'authorizing';
  }

  /**
   * `@setDataFrame onMetaData {…}` (or a bare `onMetaData`): recorded as the stream's metadata, as the
   * publisher sent it (ffmpeg's FLV reader skips the `@setDataFrame` form, so the recorder's stream
   * layout comes from the media tags alone, as before).
   */
  private onData0(payload: Buffer): void {
    if (!this.acceptsMedia) return;
    try {
      const r = new Amf0Reader(payload);
      let name = r.read();
      if (name === '@setDataFrame') name = r.read();
      if (name !== 'onMetaData') return;
    } catch {
      return; // metadata is advisory; broken AMF is dropped, the stream goes on
    }
    this.feed.push(MSG.DATA_AMF0, 0, payload);
  }

  /** Aggregate message: FLV-style sub-messages whose timestamps are relative to the aggregate's. */
  private onAggregate(ts: number, payload: Buffer): void {
    let pos = 0;
    let first: number | null = null;
    while (pos + 11 <= payload.length) {
      const type = payload[pos];
      const size = payload.readUIntBE(pos + 1, 3);
      const subTs = (payload.readUIntBE(pos + 4, 3) | (payload[pos + 7] << 24)) >>> 0;
      const body = pos + 11;
      if (body + size > payload.length) return; // truncated: the rest is dropped
      if (first === null) first = subTs;
      const at = (ts + subTs - first) >>> 0;
      if (type === MSG.AUDIO || type === MSG.VIDEO) this.feed.push(type, at, payload.subarray(body, body + size));
      else if (type === MSG.DATA_AMF0) this.onData0(payload.subarray(body, body + size));
      pos = body + size + 4; // the sub-message and its back pointer
    }
  }

  private onCommand(sid: number, payload: Buffer): void {
    const r = new Amf0Reader(payload);
    let name: Amf0Value;
    let txn: Amf0Value;
    let obj: Amf0Value;
    try {
      name = r.read();
      txn = r.done ? 0 : r.read();
      obj = r.done ? null : r.read();
    } catch (e) {
      throw new RtmpProtocolError(`malformed command: ${errorMessage(e)}`);
    }
    const tid = typeof txn === 'number' ? txn : 0;
    const arg = (): Amf0Value => {
      try {
        return r.done ? undefined : r.read();
      } catch (e) {
        throw new RtmpProtocolError(`malformed ${String(name)} command: ${errorMessage(e)}`);
      }
    };
    switch (name) {
      case 'connect':
        return this.onConnect(tid, obj);
      case 'releaseStream':
      case 'FCPublish':
        if (tid) this.send(out.command(0, '_result', tid, null, undefined));
        return;
      case 'createStream':
        this.send(out.command(0, '_result', tid, null, MEDIA_STREAM_ID));
        return;
      case 'publish': {
        const streamName = arg();
        this.publishStreamId = sid;
        if (!this.connected) throw new RtmpProtocolError('publish before connect');
        return this.handlePublish(typeof streamName === 'string' ? streamName : '');
      }
      case 'play': {
        this.publishStreamId = sid;
        const streamName = arg();
        return this.handlePlay(typeof streamName === 'string' ? streamName : '');
      }
      case 'FCUnpublish':
      case 'deleteStream':
      case 'closeStream':
        // The publisher is done; it closes the socket next (closing first makes GStreamer's rtmp2sink report
        // an error), and the session ends with the socket.
        return;
      default:
        return; // _checkbw, getStreamLength, …: nothing a publisher waits for
    }
  }

  private onConnect(tid: number, obj: Amf0Value): void {
    if (this.connected) throw new RtmpProtocolError('connect sent twice');
    const cmd = obj && typeof obj === 'object' && !Array.isArray(obj) && !(obj instanceof Date) ? obj : {};
    this.connectApp = typeof cmd.app === 'string' ? cmd.app : '';
    this.connected = true;
    const objectEncoding = typeof cmd.objectEncoding === 'number' ? cmd.objectEncoding : 0;
    this.send(
      Buffer.concat([
        out.windowAckSize(WINDOW_ACK_SIZE),
        out.setPeerBandwidth(WINDOW_ACK_SIZE),
        out.setChunkSize(out.OUT_CHUNK_SIZE),
        out.command(0, '_result', tid, { fmsVer: 'FMS/3,0,1,123', capabilities: 31 }, {
          level: 'status',
          code: 'NetConnection.Connect.Success',
          description: 'Connection succeeded.',
          objectEncoding,
        }),
      ]),
    );
  }

  /** Called on `publish`. */
  handlePublish(rawName: string): void {
    if (this.state !== 'connected') {
      this.refuse('bad_stream_id', 'only one publish per connection');
      return;
    }
    const [appPart, appQuery = ''] = this.connectApp.split('?', 2);
    const [name, nameQuery = ''] = rawName.split('?', 2);
    const query = { ...parseQuery(appQuery), ...parseQuery(nameQuery) };
    // The publish credential: `?token=` (signed tokens) or `?key=` (stream keys), after the stream id or the app.
    const token = typeof query.token === 'string' ? query.token : typeof query.key === 'string' ? query.key : undefined;
    this.app = appPart;
    this.streamId = name;
    this.log = this.log.child({ app: this.app, streamId: this.streamId });
    this.state = 'authorizing';
    const req = { app: this.app, streamId: this.streamId, protocol: this.protocol, remoteAddress: this.remoteAddress, token };
    this.options.registry.claim(req, this).then(
      (decision) => {
        if (this.state !== 'authorizing') {
          // The client left while we decided; give the stream back.
          if (decision.ok) this.options.registry.release(this, this.closeReason);
          return;
        }
        if (!decision.ok) return this.refuse(decision.code, decision.reason);
        this.state = 'publishing';
        this.send(out.streamBegin(this.publishStreamId));
        this.send(out.onStatus(this.publishStreamId, 'status', 'NetStream.Publish.Start', `/${this.app}/${this.streamId} is now published.`));
      },
      (e) => this.refuse('unauthorized', `publish check failed: ${errorMessage(e)}`),
    );
  }

  /** Called on `play`: bucketcast serves viewers over HLS, not RTMP. */
  handlePlay(rawName: string): void {
    this.log.warn({ name: rawName.split('?')[0] }, 'rtmp play refused: playback is over HLS');
    this.send(out.onStatus(this.publishStreamId, 'error', 'NetStream.Play.Failed', 'RTMP playback is not offered; use HLS'));
    this.close('play refused');
  }

  private refuse(code: RefusalCode, reason: string): void {
    const status = code === 'unauthorized' ? 'NetStream.Publish.Unauthorized' : code === 'insufficient_storage' ? 'NetStream.Failed' : 'NetStream.Publish.BadName';
    this.send(out.onStatus(this.publishStreamId, 'error', status, reason));
    this.close(`refused: ${code}`);
  }

  /**
   * True once the publish was accepted. Encoders wait for `Publish.Start` before sending media, so
   * until then (also while the publish is being decided) only the small pre-publish budget applies.
   */
  get publishing(): boolean {
    return this.state === 'publishing';
  }

  openMedia(): Promise<MediaFeed> {
    return this.feed.media();
  }

  stats(): StreamStats {
    return this.feed.stats();
  }

  /** Ends the connection; the session ends when the socket has closed. */
  close(reason: string): void {
    if (this.state === 'closing') return;
    this.closeReason = reason;
    this.state = 'closing';
    this.acks.stop();
    this.parser.release();
    const { socket } = this.options;
    socket.end();
    // A peer that does not finish the close handshake is cut off.
    setTimeout(() => socket.destroy(), 2000).unref();
  }

  private onSocketClose(): void {
    this.state = 'closing';
    this.parser.release();
    this.feed.end();
    this.options.pacer?.cancel(this.readNow);
    this.acks.stop();
    this.options.registry.release(this, this.closeReason);
    this.resolveClosed(this.closeReason);
  }
}
