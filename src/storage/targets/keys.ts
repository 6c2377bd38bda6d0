/**
 * Object keys from key templates and object URLs.
 *
 * A template's tokens: `{app} {streamId} {recordingId}`, the recording's UTC
 * start as `{yyyy} {mm} {dd} {HH}` (so every file of a recording lands in
 * the same folder, even one that runs past midnight), and the file's own name
 * as `{name}.{ext}` (`cam1_20261122T185003Z_00003` + `ts`). Keys are
 * `<prefix>/<rendered template>`. The defaults, `streams/{name}.{ext}` and
 * `previews/{name}.{ext}`, map `/<app>/streams/x.mp4` to `<prefix>/streams/x.mp4`.
 */
import type { FileKind } from '../../events/types.js';

/** What a key is rendered from. */
export interface KeyFacts {
  app: string;
  streamId: string;
  recordingId: string;
  /** ISO 8601 UTC start of the recording. */
  startedAt: string;
  /** File name with its extension. */
  fileName: string;
}

/** Kinds that go under the previews template; every other kind goes under streams. */
export function templateFolderFor(kind: FileKind): 'streams' | 'previews' {
  return kind === 'preview' || kind === 'poster' ? 'previews' : 'streams';
}

/** Renders a template and joins it to the prefix. */
export function renderKey(prefix: string, template: string, f: KeyFacts): string {
  const dot = f.fileName.lastIndexOf('.');
  const name = dot > 0 ? f.fileName.slice(0, dot) : f.fileName;
  const ext = dot > 0 ? f.fileName.slice(dot + 1) : '';
  const d = new Date(f.startedAt);
  const pad = (n: number) => String(n).padStart(2, '0');
  const tokens: Record<string, string> = {
    app: f.app,
    streamId: f.streamId,
    recordingId: f.recordingId,
    yyyy: String(d.getUTCFullYear()),
    mm: pad(d.getUTCMonth() + 1),
    dd: pad(d.getUTCDate()),
    HH: pad(d.getUTCHours()),
    name,
    ext,
  };
  let rendered = template.replace(/\{(\w+)\}/g, (m, t: string) => tokens[t] ?? m);
  if (!ext) rendered = rendered.replace(/\.$/, '');
  return joinKey(prefix, rendered);
}

/** `a/` + `/b` → `a/b`; no leading, trailing or doubled slashes. */
export function joinKey(...parts: string[]): string {
  return parts
    .flatMap((p) => p.split('/'))
    .filter((s) => s.length > 0)
    .join('/');
}

/** Where the object can be fetched (for events and the catalog). */
export function objectUrl(t: { endpoint?: string; region: string; forcePathStyle: boolean; bucket: string }, key: string): string {
  const k = key.split('/').map(encodeURIComponent).join('/');
  if (!t.endpoint) return `https://${t.bucket}.s3.${t.region}.amazonaws.com/${k}`;
  const u = new URL(t.endpoint);
  const base = u.pathname.replace(/\/+$/, '');
  if (t.forcePathStyle) return `${u.protocol}//${u.host}${base}/${encodeURIComponent(t.bucket)}/${k}`;
  return `${u.protocol}//${t.bucket}.${u.host}${base}/${k}`;
}
