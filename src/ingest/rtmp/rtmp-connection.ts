/**
 * One RTMP client connection, on node-media-server's protocol engine.
 *
 * Design note: NMS 4 answers `publish` with `NetStream.Publish.Start` before any
 * check, refuses bad names by its own narrower rules, and reports the end of a
 * publish ~30 s after the socket closes (a resume grace). So this class takes
 * over the `connect`/`publish`/`play` commands: it answers `Publish.Start` only
 * after the registry accepted the stream, answers a refusal with an error status,
 * and ends the session the moment the socket closes. Playback over RTMP is not
 * offered (viewers use HLS).
 */
import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { parse as parseQuery } from 'node:querystring';
import Rtmp from 'node-media-server/src/protocol/rtmp.js';
import type AVPacket from 'node-media-server/src/core/avpacket.js';
import type { Logger } from '../../log/logger.js';
import { errorMessage } from '../../errors.js';
import type { StreamRegistry } from '../stream-registry.js';
import type { MediaFeed, PublisherSession, RefusalCode, StreamStats } from '../types.js';
import { FlvFeed } from './flv-feed.js';

/** Chunk streams a client may open; real encoders use fewer than 10. */
const MAX_CHUNK_STREAMS = 64;
/**
 * Message buffers one connection may hold at once, over all its chunk streams.
 * Before its publish is accepted a client only sends commands (a few hundred
 * bytes each); afterwards media, whose largest messages are keyframes. NMS
 * keeps one buffer per chunk stream, sized by the length a header declares,
 * so without a cap 64 chunk streams declaring 16 MiB each cost 1 GiB.
 */
const MAX_BUFFERED_BEFORE_PUBLISH = 1024 * 1024;
const MAX_BUFFERED_PUBLISHING = 48 * 1024 * 1024;
/** RTMP's largest chunk size: the first bit of Set Chunk Size must be 0. */
const MAX_CHUNK_SIZE = 0x7fffffff;
const TYPE_SET_CHUNK_SIZE = 1;

type Command = Parameters<Rtmp['onPublish']>[0];

interface ParserState {
  inPackets: Map<number, { capacity: number }>;
  parserPacket: { header: { length: number; type: number }; payload: Buffer; capacity: number };
}

/** NMS's protocol engine with its command handlers routed to the connection. */
class GuardedRtmp extends Rtmp {
  constructor(private readonly conn: RtmpConnection) {
    super();
    // NMS gives every connection an FLV byte-stream parser with a 1 MiB buffer it never uses for RTMP:
    // dropped at once, so an idle or half-open connection does not pin a megabyte.
    (this as unknown as { flv: unknown }).flv = null;
  }

  override onConnect(msg: Command): void {
    const app = typeof msg.cmdObj?.app === 'string' ? msg.cmdObj.app : '';
    // NMS parses tcUrl with `new URL`, which throws on garbage; give it a harmless one.
    const tcUrl = typeof msg.cmdObj?.tcUrl === 'string' && URL.canParse(msg.cmdObj.tcUrl) ? msg.cmdObj.tcUrl : 'rtmp://invalid/';
    super.onConnect({ ...msg, cmdObj: { ...msg.cmdObj, tcUrl } });
    this.conn.connectApp = app;
  }

  override onPublish(msg: Command): void {
    this.streamId = this.parserPacket.header.stream_id;
    this.conn.handlePublish(String(msg.streamName ?? ''));
  }

  override onPlay(msg: Command): void {
    this.streamId = this.parserPacket.header.stream_id;
    this.conn.handlePlay(String(msg.streamName ?? ''));
  }

  /** Caps the per-connection parser state a hostile client can make NMS allocate. */
  packetAlloc(): void {
    const self = this as unknown as ParserState;
    if (self.inPackets.size > MAX_CHUNK_STREAMS) throw new Error(`more than ${MAX_CHUNK_STREAMS} chunk streams`);
    const packet = self.parserPacket;
    if (packet.capacity >= packet.header.length) return;
    const limit = this.conn.publishing ? MAX_BUFFERED_PUBLISHING : MAX_BUFFERED_BEFORE_PUBLISH;
    let held = packet.header.length;
    for (const p of self.inPackets.values()) if (p !== packet) held += p.capacity;
    if (held > limit) throw new Error(`message of ${packet.header.length} bytes would hold ${held} bytes of buffers (limit ${limit})`);
    // NMS zero-fills the declared length at once (Buffer.alloc): memory for bytes a client only announced.
    // Unfilled, only the pages the message's bytes are written to become resident; a message is handled
    // only once all its declared bytes were written.
    packet.payload = Buffer.allocUnsafeSlow(packet.header.length + 1024);
    packet.capacity = packet.header.length + 1024;
  }

  /** Drops every message buffer at once (the connection is closing; its socket may linger a moment). */
  release(): void {
    const self = this as unknown as ParserState;
    for (const p of self.inPackets.values()) Object.assign(p, { payload: Buffer.alloc(0), capacity: 0 });
    self.inPackets.clear();
    Object.assign(self.parserPacket, { payload: Buffer.alloc(0), capacity: 0 });
  }

  /** Refuses chunk sizes NMS would divide by (0) or that the spec forbids, and truncated control messages. */
  controlHandler(): void {
    const packet = (this as unknown as ParserState).parserPacket;
    if (packet.header.type === TYPE_SET_CHUNK_SIZE) {
      if (packet.header.length < 4) throw new Error('truncated Set Chunk Size message');
      const size = packet.payload.readUInt32BE(0);
      if (size < 1 || size > MAX_CHUNK_SIZE) throw new Error(`invalid chunk size ${size}`);
    }
    (Rtmp.prototype as unknown as { controlHandler(this: Rtmp): void }).controlHandler.call(this);
  }
}

export interface RtmpConnectionOptions {
  socket: Socket;
  registry: StreamRegistry;
  log: Logger;
  /** Milliseconds without a byte from the client before it is dropped. */
  idleTimeoutMs: number;
  /** Milliseconds a connection may take from connect to an accepted publish (a slow drip of bytes keeps it from idling out). */
  publishDeadlineMs: number;
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
  private readonly rtmp: GuardedRtmp;
  private readonly feed: FlvFeed;
  private state: 'connected' | 'authorizing' | 'publishing' | 'closing' = 'connected';
  private closeReason = 'publisher closed';
  private resolveClosed!: (reason: string) => void;
  private log: Logger;

  constructor(private readonly options: RtmpConnectionOptions) {
    const { socket } = options;
    this.remoteAddress = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    this.log = options.log.child({ protocol: 'rtmp', remoteAddress: this.remoteAddress });
    this.closed = new Promise((r) => (this.resolveClosed = r));
    this.rtmp = new GuardedRtmp(this);
    // A recorder behind the publisher (a file pushed faster than real time) stops reads from the socket, so TCP
    // slows the publisher down. The idle timeout is off meanwhile: the silence is ours, not the publisher's.
    this.feed = new FlvFeed({
      pause: () => {
        socket.pause();
        socket.setTimeout(0);
      },
      resume: () => {
        if (socket.destroyed) return;
        socket.setTimeout(options.idleTimeoutMs);
        socket.resume();
      },
    });
    this.rtmp.onOutputCallback = (buf) => {
      if (!socket.destroyed) socket.write(buf);
    };
    this.rtmp.onPacketCallback = (packet: AVPacket) => {
      if (this.state === 'publishing' || this.state === 'authorizing') this.feed.push(packet);
    };
    socket.setNoDelay(true);
    socket.setTimeout(options.idleTimeoutMs, () => this.close('idle timeout'));
    const deadline = setTimeout(() => {
      if (this.state === 'connected') this.close('no publish in time');
    }, options.publishDeadlineMs);
    deadline.unref();
    void this.closed.then(() => clearTimeout(deadline));
    socket.on('data', (data: Buffer) => this.onData(data));
    socket.on('error', (err) => this.log.debug({ err: err.message }, 'rtmp socket error'));
    socket.on('close', () => this.onSocketClose());
  }

  private onData(data: Buffer): void {
    if (this.state === 'closing') return;
    let err: string | null;
    try {
      err = this.rtmp.parserData(data);
    } catch (e) {
      err = errorMessage(e);
    }
    if (err) {
      this.log.warn({ err }, 'rtmp protocol error, closing connection');
      this.close('protocol error');
    }
  }

  /** Called by the protocol engine on `publish`. */
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
        this.rtmp.streamApp = this.app;
        this.rtmp.streamName = this.streamId;
        this.rtmp.respondPublish();
      },
      (e) => this.refuse('unauthorized', `publish check failed: ${errorMessage(e)}`),
    );
  }

  /** Called by the protocol engine on `play`: bucketcast serves viewers over HLS, not RTMP. */
  handlePlay(rawName: string): void {
    this.log.warn({ name: rawName.split('?')[0] }, 'rtmp play refused: playback is over HLS');
    this.rtmp.sendStatusMessage(this.rtmp.streamId, 'error', 'NetStream.Play.Failed', 'RTMP playback is not offered; use HLS');
    this.close('play refused');
  }

  private refuse(code: RefusalCode, reason: string): void {
    const status = code === 'unauthorized' ? 'NetStream.Publish.Unauthorized' : code === 'insufficient_storage' ? 'NetStream.Failed' : 'NetStream.Publish.BadName';
    this.rtmp.sendStatusMessage(this.rtmp.streamId, 'error', status, reason);
    this.close(`refused: ${code}`);
  }

  /**
   * True once the publish was accepted. Encoders wait for `Publish.Start` before sending media, so
   * until then (also while the publish is being decided) only the small pre-publish budget applies.
   */
  get publishing(): boolean {
    return this.state === 'publishing';
  }

  async openMedia(): Promise<MediaFeed> {
    const info = await this.feed.ready();
    return { format: 'flv', stream: this.feed.open(), ...info };
  }

  stats(): StreamStats {
    const i = this.feed.feedInfo;
    return {
      videoCodec: i.videoCodec,
      audioCodec: i.audioCodec,
      width: i.width,
      height: i.height,
      fps: i.fps,
      bytesIn: this.feed.meter.bytes,
      bitrate: this.feed.meter.bitsPerSecond(),
    };
  }

  /** Ends the connection; the session ends when the socket has closed. */
  close(reason: string): void {
    if (this.state === 'closing') return;
    this.closeReason = reason;
    this.state = 'closing';
    this.rtmp.release();
    const { socket } = this.options;
    socket.end();
    // A peer that does not finish the close handshake is cut off.
    setTimeout(() => socket.destroy(), 2000).unref();
  }

  private onSocketClose(): void {
    this.state = 'closing';
    this.rtmp.release();
    this.feed.end();
    this.options.registry.release(this, this.closeReason);
    this.resolveClosed(this.closeReason);
  }
}
