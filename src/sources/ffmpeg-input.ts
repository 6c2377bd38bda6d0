/** What ffmpeg is given to pull a source, and the protocol its stream shows. */
import type { Protocol } from '../events/types.js';
import type { SourceKind } from '../config/source-url.js';

/** The protocol a source's stream shows in the API, events and metrics. */
export function protocolOf(kind: SourceKind): Protocol {
  return kind === 'srt-caller' || kind === 'srt-listener' ? 'srt' : kind;
}

/** Seconds without data before ffmpeg gives up on a silent far end. */
const IO_TIMEOUT_US = String(10_000_000);

/**
 * ffmpeg's input arguments for a source. An SRT listener binds `bindHost`
 * (the server's bind address) on its port; its `streamid` is checked by the
 * relay in front of it (src/sources/srt-gate.ts), not here.
 */
export function inputArgs(raw: string, kind: SourceKind, o: { rtspTransport?: 'tcp' | 'udp'; listenerUrl?: string } = {}): string[] {
  switch (kind) {
    case 'rtsp':
      return ['-rtsp_transport', o.rtspTransport ?? 'tcp', '-timeout', IO_TIMEOUT_US, '-i', raw];
    case 'rtmp':
      return ['-rw_timeout', IO_TIMEOUT_US, '-i', raw];
    case 'hls':
      // A playlist's segments and keys may be http(s) only: a remote playlist cannot make ffmpeg read local files.
      return ['-protocol_whitelist', 'http,https,tcp,tls,crypto', '-rw_timeout', IO_TIMEOUT_US, '-i', raw];
    case 'srt-caller': {
      const u = new URL(raw);
      if (!u.searchParams.has('mode')) u.searchParams.set('mode', 'caller');
      return ['-i', u.toString()];
    }
    case 'srt-listener':
      return ['-i', o.listenerUrl ?? raw];
  }
}
