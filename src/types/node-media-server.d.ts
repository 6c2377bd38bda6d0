/**
 * Types for the parts of node-media-server 4 that bucketcast uses: its RTMP
 * protocol engine (handshake, chunk stream, AMF commands) and FLV tag parser.
 * Its servers, global context and recorder are deliberately not used.
 */
declare module 'node-media-server/src/core/avpacket.js' {
  /** One parsed RTMP message. `data` aliases the parser's reusable buffer: copy before the callback returns. */
  class AVPacket {
    codec_id: number;
    /** 8 audio, 9 video, 18 script data. */
    codec_type: number;
    /** 0 audio header, 1 audio, 2 video header, 3 key frame, 4 inter frame, 5 metadata, 6 hdr metadata. */
    flags: number;
    pts: number;
    dts: number;
    size: number;
    data: Buffer;
  }
  export = AVPacket;
}

declare module 'node-media-server/src/protocol/rtmp.js' {
  import AVPacket = require('node-media-server/src/core/avpacket.js');
  interface InvokeMessage {
    cmd: string;
    transId: number;
    cmdObj?: Record<string, unknown> | null;
    streamName?: string;
    [k: string]: unknown;
  }
  /** The RTMP protocol engine: feed it socket bytes, it calls back with output bytes and messages. */
  class Rtmp {
    streamApp: string;
    streamName: string;
    streamHost: string;
    streamQuery: Record<string, unknown>;
    streamId: number;
    inChunkSize: number;
    parserPacket: { header: { stream_id: number; length: number; type: number }; payload: Buffer };
    onConnectCallback: (req: { app: string; name: string; host: string; query: Record<string, unknown> }) => void;
    onPlayCallback: () => void;
    onPushCallback: () => void;
    onPacketCallback: (packet: AVPacket) => void;
    onOutputCallback: (buffer: Buffer) => void;
    /** Returns an error string, or null. */
    parserData(buffer: Buffer): string | null;
    onConnect(invokeMessage: InvokeMessage): void;
    onPublish(invokeMessage: InvokeMessage): void;
    onPlay(invokeMessage: InvokeMessage): void;
    respondPublish(): void;
    sendStatusMessage(sid: number, level: string, code: string, description: string): void;
  }
  export = Rtmp;
}

declare module 'node-media-server/src/protocol/amf.js' {
  export function decodeAmf0Data(data: Buffer): { cmd: string; dataObj: Record<string, unknown> | null; [k: string]: unknown };
}
