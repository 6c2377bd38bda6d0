/**
 * Source URLs: which kinds are accepted and how a URL is shown (password and
 * SRT passphrase masked). How ffmpeg pulls each kind: src/sources/ffmpeg-input.ts.
 */

export type SourceKind = 'rtsp' | 'rtmp' | 'hls' | 'srt-caller' | 'srt-listener';

/** What a URL is, or why it is not a source. */
export function sourceKind(raw: string): SourceKind | string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    // `srt://:9000?mode=listener` has no host, which WHATWG URL refuses: read it with a placeholder host.
    const m = /^srt:\/\/:(\d+)(\?.*)?$/i.exec(raw);
    if (!m) return 'not a URL';
    u = new URL(`srt://0.0.0.0:${m[1]}${m[2] ?? ''}`);
  }
  switch (u.protocol) {
    case 'rtsp:':
    case 'rtsps:':
      return 'rtsp';
    case 'rtmp:':
    case 'rtmps:':
      return 'rtmp';
    case 'http:':
    case 'https:':
      return /\.m3u8$/i.test(u.pathname) ? 'hls' : 'an http(s) source must be an HLS playlist (…m3u8); to record a file, import it';
    case 'srt:': {
      const mode = u.searchParams.get('mode') ?? 'caller';
      if (!u.port) return 'an srt:// URL needs a port';
      if (mode === 'listener') return 'srt-listener';
      if (mode === 'caller') return u.hostname && u.hostname !== '0.0.0.0' ? 'srt-caller' : 'an SRT caller needs a host';
      return `SRT mode "${mode}" is not supported (caller or listener)`;
    }
    default:
      return `unsupported scheme "${u.protocol.replace(/:$/, '')}" (rtsp, rtsps, rtmp, rtmps, http(s) …m3u8, srt)`;
  }
}

const KINDS = new Set(['rtsp', 'rtmp', 'hls', 'srt-caller', 'srt-listener']);

export function sourceUrlProblem(raw: string): string | null {
  const k = sourceKind(raw);
  if (KINDS.has(k)) {
    const p = listenerPort(raw);
    if (k === 'srt-listener' && (p === null || p < 1)) return 'an SRT listener needs a port (srt://:<port>?mode=listener)';
    const pass = new URL(normalized(raw)).searchParams.get('passphrase');
    if (pass !== null && (pass.length < 10 || pass.length > 79)) return 'an SRT passphrase has 10 to 79 characters';
    return null;
  }
  return k;
}

export function isKind(k: string): k is SourceKind {
  return KINDS.has(k);
}

function normalized(raw: string): string {
  return raw.replace(/^srt:\/\/:(\d+)/i, 'srt://0.0.0.0:$1');
}

function listenerPort(raw: string): number | null {
  try {
    const p = new URL(normalized(raw)).port;
    return p ? Number(p) : null;
  } catch {
    return null;
  }
}

const SECRET_PARAMS = ['passphrase', 'password', 'pass', 'pwd', 'token', 'key', 'secret', 'signature', 'sig', 'x-amz-signature', 'x-amz-credential', 'x-amz-security-token'];

/** The URL as the API shows it: password, passphrase and signature-like parameters replaced by `***`. */
export function maskUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(normalized(raw));
  } catch {
    return '***';
  }
  if (u.password) u.password = '***';
  for (const k of [...u.searchParams.keys()]) if (SECRET_PARAMS.includes(k.toLowerCase())) u.searchParams.set(k, '***');
  let s = u.toString().replace(/%2A%2A%2A/g, '***');
  if (/^srt:\/\/:/i.test(raw)) s = s.replace(/^srt:\/\/0\.0\.0\.0:/, 'srt://:');
  return s;
}

/** Where the far end is, for `remoteAddress` (host and port, never credentials). */
export function remoteOf(raw: string): string {
  try {
    const u = new URL(normalized(raw));
    return `${u.protocol}//${u.host}`;
  } catch {
    return 'source';
  }
}
