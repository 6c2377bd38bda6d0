/**
 * Carries a viewing token into an HLS playlist: every URI that points back at
 * this server (relative, or an absolute path) gets `token=<token>` added, in
 * URI lines and in `URI="…"` attributes (`EXT-X-MAP`, `EXT-X-KEY`,
 * `EXT-X-MEDIA`, `EXT-X-PART` …). URIs to another host keep no token: it would
 * leak to them. A signed playlist URL cannot sign what the browser resolves
 * next to it, so the playlist itself is rewritten, as presigned mode does.
 */

/** The playlist text with the token added to each URI back to this server. */
export function addTokenToPlaylist(text: string, token: string): string {
  return text
    .split('\n')
    .map((line) => {
      const t = line.trim();
      if (t === '') return line;
      if (t.startsWith('#')) return line.replace(/URI="([^"]*)"/g, (_m, uri: string) => `URI="${withToken(uri, token)}"`);
      return withToken(t, token) + (line.endsWith('\r') ? '\r' : '');
    })
    .join('\n');
}

/** `uri` with `token=` added when it points back at this server and carries none yet. */
export function withToken(uri: string, token: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(uri) || uri.startsWith('//')) return uri; // another host (or a data: URI)
  const hash = uri.indexOf('#');
  const base = hash < 0 ? uri : uri.slice(0, hash);
  const frag = hash < 0 ? '' : uri.slice(hash);
  const q = base.indexOf('?');
  if (q >= 0 && new URLSearchParams(base.slice(q + 1)).has('token')) return uri;
  return `${base}${q < 0 ? '?' : '&'}token=${encodeURIComponent(token)}${frag}`;
}
