/**
 * Which recording goes where (issue 18 item 3). A recording started through
 * the API with an `output` takes it; one started by hand without an output
 * goes to the app's bucket; any other takes the first of its app's
 * `destinations` rules whose stream-id pattern matches, else the app's bucket.
 *
 * The choice is made when the recording starts (`recording.started`), or at
 * its first part or completion when that was missed (a recording recovered
 * after a crash), and kept in `<dataDir>/destinations/<recordingId>.json`
 * (mode 0600) so uploads after a restart go to the same place. In-line keys
 * and pre-signed URLs (a signature is write access) are sealed there with
 * AES-256-GCM under a key derived from the server key
 * (`recording-destinations`), bound to the recording id; nothing else holds
 * them: not the catalog, not the sidecar, not a log line, not an answer.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AppSettings } from '../../config/schema.js';
import { parseS3Url, streamIdPattern, type DestinationRule } from '../../config/destinations-schema.js';
import type { Logger } from '../../log/logger.js';
import { SecretBox } from '../../db/secret-box.js';
import { accessKeyIdHint } from '../../db/key-hint.js';
import { errorMessage } from '../../errors.js';
import { describeDestination, type DestinationSpec } from './output.js';

/** A recording's destination. `spec` undefined: the app's own bucket. */
export interface RecordingDestination {
  recordingId: string;
  app: string;
  streamId: string;
  /** `api`: the `output` of a recording started by hand; `rule`: the app's `destinations[rule]`; `app`: none (the app's bucket). */
  origin: 'api' | 'rule' | 'app';
  rule?: number;
  spec?: DestinationSpec;
  boundAt: string;
  /** Why a kept destination cannot be read (the server key changed, the file was damaged): its uploads fail, they never go elsewhere. */
  unreadable?: string;
}

/** What is written to disk: secrets sealed. */
interface SealedDestination extends Omit<RecordingDestination, 'spec'> {
  spec?:
    | { kind: 'presigned-put'; sealedUrl: string; shown: Record<string, unknown> }
    | { kind: 's3'; bucket: string; prefix: string; endpoint?: string; region?: string; forcePathStyle?: boolean; credential: { source: 'inline'; keyHint: string; sealed: string } | { source: 'stored'; credentialId: string } | { source: 'app' } };
}

const RECORDING_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** A destination for what a rule says (the endpoint, region and path style of the app when unset). */
export function ruleSpec(rule: DestinationRule): DestinationSpec {
  const parsed = parseS3Url(rule.url);
  if ('problem' in parsed) throw new Error(`destination rule url: ${parsed.problem}`);
  return {
    kind: 's3',
    bucket: parsed.bucket,
    prefix: parsed.prefix,
    endpoint: rule.endpoint,
    region: rule.region,
    forcePathStyle: rule.forcePathStyle,
    credential: rule.credential ? { source: 'stored', credentialId: rule.credential } : { source: 'app' },
  };
}

/** The first rule of an app matching a stream id. */
export function matchRule(app: AppSettings, streamId: string): { index: number; rule: DestinationRule } | undefined {
  const rules = app.destinations ?? [];
  const index = rules.findIndex((r) => streamIdPattern(r.streamId).test(streamId));
  return index < 0 ? undefined : { index, rule: rules[index] };
}

export class DestinationBook {
  private readonly dir: string;
  private readonly box: SecretBox;
  private readonly bound = new Map<string, RecordingDestination>();
  /**
   * Outputs asked for by hand, by `app/streamId`, for the recordings of one publisher session (a pre-signed URL: its
   * first recording only). Kept past the session's end until its recording binds: a short import or publish can end
   * before its recording has started (its manifest written, its recorder spawned).
   */
  private readonly pending = new Map<string, { spec?: DestinationSpec; sessionId?: string; ended?: boolean }>();
  private loaded = false;

  constructor(
    private readonly o: { dataDir: string; key: Buffer; log: Logger },
  ) {
    this.dir = path.join(o.dataDir, 'destinations');
    this.box = SecretBox.fromMaterial(o.key.toString('hex'));
  }

  /** Reads every kept destination (start-up), so forwarding finds recordings wherever they went. */
  load(): void {
    this.loaded = true;
    if (!existsSync(this.dir)) return;
    for (const f of readdirSync(this.dir)) {
      if (!f.endsWith('.json')) continue;
      const id = f.slice(0, -5);
      this.readOrMark(id);
    }
  }

  /** A recording will be started by hand: with `spec`, it goes there; without, to the app's bucket (no rule). */
  setPending(app: string, streamId: string, spec: DestinationSpec | undefined, sessionId?: string): void {
    this.pending.set(`${app}/${streamId}`, { spec, sessionId });
  }

  /** Forgets what was asked for a stream (the start was refused). */
  clearPending(app: string, streamId: string, sessionId?: string): void {
    const k = `${app}/${streamId}`;
    const p = this.pending.get(k);
    if (p && (!sessionId || !p.sessionId || p.sessionId === sessionId)) this.pending.delete(k);
  }

  /** The session a stream's output was asked for ended: its recording may still be starting, and binds it then. */
  sessionEnded(app: string, streamId: string, sessionId: string): void {
    const p = this.pending.get(`${app}/${streamId}`);
    if (p && (!p.sessionId || p.sessionId === sessionId)) p.ended = true;
  }

  /**
   * Decides where a recording goes (idempotent: a recording keeps its first decision). What was asked for by hand
   * applies to the recordings of the session it was asked for (`sessionId`, when the caller knows it), not to a
   * later publisher of the same stream id.
   */
  bind(r: { recordingId: string; app: string; streamId: string; sessionId?: string }, app: AppSettings | undefined): RecordingDestination {
    const known = this.get(r.recordingId);
    if (known) return known;
    const k = `${r.app}/${r.streamId}`;
    let asked = this.pending.get(k);
    if (asked && r.sessionId && asked.sessionId && asked.sessionId !== r.sessionId) {
      // Asked for another session: an ended one is over for good, a live one keeps it for its own recordings.
      if (asked.ended) this.pending.delete(k);
      asked = undefined;
    }
    let d: RecordingDestination;
    const base = { recordingId: r.recordingId, app: r.app, streamId: r.streamId, boundAt: new Date().toISOString() };
    if (asked) {
      d = asked.spec ? { ...base, origin: 'api', spec: asked.spec } : { ...base, origin: 'app' };
      // One object per pre-signed URL: a later recording of the stream must not overwrite it. A session that ended
      // makes no further recording.
      if (asked.spec?.kind === 'presigned-put' || asked.ended) this.pending.delete(k);
    } else {
      const m = app && matchRule(app, r.streamId);
      d = m ? { ...base, origin: 'rule', rule: m.index, spec: ruleSpec(m.rule) } : { ...base, origin: 'app' };
    }
    // The app's bucket needs keeping only where a rule could later claim the recording (started by hand without an output).
    if (!d.spec && !(app?.destinations ?? []).length) return d;
    this.write(d);
    this.bound.set(d.recordingId, d);
    if (d.spec) this.o.log.info({ app: d.app, streamId: d.streamId, recordingId: d.recordingId, origin: d.origin, rule: d.rule, destination: describeDestination(d.spec) }, 'recording destination chosen');
    return d;
  }

  /** A recording's destination when one was chosen. */
  get(recordingId: string): RecordingDestination | undefined {
    const hit = this.bound.get(recordingId);
    if (hit) return hit;
    if (this.loaded || !RECORDING_ID.test(recordingId)) return undefined;
    return this.readOrMark(recordingId);
  }

  /** Reads a kept destination; one that cannot be read is kept as unreadable, so its recording is never sent elsewhere. */
  private readOrMark(recordingId: string): RecordingDestination | undefined {
    try {
      return this.read(recordingId);
    } catch (err) {
      const why = errorMessage(err);
      this.o.log.error({ recordingId, err: why }, 'could not read a recording destination; its uploads fail until it can be read');
      let facts: Partial<RecordingDestination> = {};
      try {
        const { app, streamId, origin, boundAt } = JSON.parse(readFileSync(this.file(recordingId), 'utf8')) as SealedDestination;
        facts = { app, streamId, origin, boundAt };
      } catch {}
      const d: RecordingDestination = { recordingId, app: facts.app ?? '', streamId: facts.streamId ?? '', origin: facts.origin ?? 'api', boundAt: facts.boundAt ?? '', unreadable: why };
      this.bound.set(recordingId, d);
      return d;
    }
  }

  /** Every destination of an app that is an S3 bucket other than its own, by bucket (forwarding signs with its credentials). */
  s3For(app: string, bucket: string): RecordingDestination | undefined {
    let found: RecordingDestination | undefined;
    for (const d of this.bound.values()) if (d.app === app && d.spec?.kind === 's3' && d.spec.bucket === bucket) found = d;
    return found;
  }

  /** Forgets a recording's destination and its sealed secrets (the recording was deleted). */
  forget(recordingId: string): void {
    this.bound.delete(recordingId);
    try {
      rmSync(this.file(recordingId), { force: true });
    } catch {
      // not a recording id: nothing was kept for it
    }
  }

  private file(recordingId: string): string {
    if (!RECORDING_ID.test(recordingId)) throw new Error('not a recording id');
    return path.join(this.dir, `${recordingId}.json`);
  }

  private write(d: RecordingDestination): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const sealed: SealedDestination = { ...d, spec: undefined };
    const s = d.spec;
    if (s?.kind === 'presigned-put') sealed.spec = { kind: 'presigned-put', sealedUrl: this.box.seal(s.url, d.recordingId), shown: describeDestination(s) };
    else if (s?.kind === 's3') {
      const c = s.credential;
      sealed.spec = {
        ...s,
        credential: c.source === 'inline' ? { source: 'inline', keyHint: accessKeyIdHint(c.accessKeyId), sealed: this.box.seal(JSON.stringify([c.accessKeyId, c.secretAccessKey]), d.recordingId) } : c,
      };
    }
    const file = this.file(d.recordingId);
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, JSON.stringify(sealed), { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, file);
  }

  private read(recordingId: string): RecordingDestination | undefined {
    const file = this.file(recordingId);
    if (!existsSync(file)) return undefined;
    const sealed = JSON.parse(readFileSync(file, 'utf8')) as SealedDestination;
    const d: RecordingDestination = { ...sealed, spec: undefined };
    const s = sealed.spec;
    if (s?.kind === 'presigned-put') d.spec = { kind: 'presigned-put', url: this.box.open(s.sealedUrl, recordingId) };
    else if (s?.kind === 's3') {
      const c = s.credential;
      let credential: Extract<DestinationSpec, { kind: 's3' }>['credential'];
      if (c.source === 'inline') {
        const [accessKeyId, secretAccessKey] = JSON.parse(this.box.open(c.sealed, recordingId)) as [string, string];
        credential = { source: 'inline', accessKeyId, secretAccessKey };
      } else credential = c;
      d.spec = { kind: 's3', bucket: s.bucket, prefix: s.prefix, endpoint: s.endpoint, region: s.region, forcePathStyle: s.forcePathStyle, credential };
    }
    this.bound.set(recordingId, d);
    return d;
  }
}
