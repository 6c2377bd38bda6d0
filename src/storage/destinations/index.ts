/**
 * Destinations per recording (issue 18 items 3 and 4), as the storage
 * service uses them: the book (which recording goes where), the targets of
 * s3:// destinations, delivery to pre-signed PUT URLs, what forwarding needs
 * to find a recording wherever it went, and validation of any destination.
 */
import type { AppSettings } from '../../config/schema.js';
import type { FileKind, UploadCompleted } from '../../events/types.js';
import type { Logger } from '../../log/logger.js';
import type { CredentialStore, UploadJob, UploadQueue, RecordingCatalog } from '../../db/types.js';
import { StorageError } from '../targets/errors.js';
import { deleteLocalCopy } from '../targets/local-files.js';
import type { S3Target } from '../targets/targets.js';
import type { ValidationReport } from '../validation/validate.js';
import { DestinationBook, matchRule, ruleSpec, type RecordingDestination } from './book.js';
import { describeDestination, presignedExpiry, presignedObject, publicUrl, type DestinationSpec, type PresignedPutSpec } from './output.js';
import { putPresigned } from './presigned-put.js';
import { DestinationTargets } from './targets.js';
import { kindIsUploaded } from '../targets/upload-kinds.js';

export { parseOutput, describeDestination, publicUrl, type DestinationSpec } from './output.js';
export type { RecordingDestination } from './book.js';

export interface DestinationsOptions {
  dataDir: string;
  /** Key sealing in-line keys and pre-signed URLs at rest (derived from the server key). */
  key: Buffer;
  credentials?: CredentialStore;
  localRoot: string;
  inactivityTimeoutMs: number;
  log: Logger;
}

/** Which files of a recording are uploaded, and whether uploads happen at all. */
export type UploadKinds = { kinds: (kind: FileKind) => boolean; sidecar: boolean } | undefined;

/** What a destination report looks like (validation). */
export interface DestinationValidation {
  destination: Record<string, unknown>;
  /** The probe's report (s3:// destinations). */
  report?: ValidationReport;
  /** For a pre-signed PUT URL: only what can be checked without writing the recording's key. */
  ok: boolean;
  summary: string;
}

export class Destinations {
  readonly book: DestinationBook;
  readonly targets: DestinationTargets;

  constructor(private readonly o: DestinationsOptions) {
    this.book = new DestinationBook({ dataDir: o.dataDir, key: o.key, log: o.log });
    this.targets = new DestinationTargets({ credentials: o.credentials, localRoot: o.localRoot, inactivityTimeoutMs: o.inactivityTimeoutMs });
  }

  load(): void {
    this.book.load();
  }

  close(): void {
    this.targets.close();
  }

  /**
   * Which files of a recording go out: to a pre-signed URL only its MP4
   * (one object); to an s3:// destination the kinds the app uploads, even
   * with the app's own uploads off (someone asked for it); else as before.
   */
  uploadKinds(d: RecordingDestination | undefined, app: AppSettings | undefined): UploadKinds {
    if (d?.spec?.kind === 'presigned-put') return { kinds: (k) => k === 'mp4', sidecar: false };
    if (!app) return undefined;
    // Queued, to fail visibly (destination_unreadable) and be retried once the key is back.
    if (d?.unreadable) return { kinds: (k) => kindIsUploaded(k, app.s3.upload), sidecar: app.s3.upload.metadata };
    if (!d?.spec && !app.s3RecordingEnabled) return undefined;
    const u = app.s3.upload;
    return { kinds: (k) => kindIsUploaded(k, u), sidecar: u.metadata };
  }

  /** The S3 target a file of a recording goes to, when its recording has an s3:// destination. */
  async s3TargetFor(recordingId: string, app: AppSettings): Promise<S3Target | undefined> {
    const d = this.book.get(recordingId);
    if (d?.unreadable) throw new StorageError('destination_unreadable', `the destination kept for recording ${recordingId} cannot be read (${d.unreadable}); its files stay on this server rather than go elsewhere: restore the server key (BUCKETCAST_SECRET_KEY or <dataDir>/secret.key) and retry`, 'permanent');
    return d?.spec?.kind === 's3' ? this.targets.resolve(app, d.spec) : undefined;
  }

  /** The pre-signed PUT of a recording, when it has one. */
  presignedFor(recordingId: string): PresignedPutSpec | undefined {
    const d = this.book.get(recordingId);
    return d?.spec?.kind === 'presigned-put' ? d.spec : undefined;
  }

  /** Where a pre-signed-PUT recording was delivered (no signature), for a 404 that says so. */
  deliveredTo(recordingId: string): string | undefined {
    const p = this.presignedFor(recordingId);
    return p && publicUrl(p.url);
  }

  /** The S3 target holding `bucket` for an app's recordings, when it is a destination's. */
  async targetForBucket(app: AppSettings, bucket: string): Promise<S3Target | undefined> {
    const d = this.book.s3For(app.name, bucket);
    if (d?.spec?.kind === 's3') return this.targets.resolve(app, d.spec);
    // A rule's bucket, for a recording of it this node has no record of.
    const rule = (app.destinations ?? []).find((r) => {
      const s = ruleSpec(r);
      return s.kind === 's3' && s.bucket === bucket;
    });
    const s = rule && ruleSpec(rule);
    return s?.kind === 's3' ? this.targets.resolve(app, s) : undefined;
  }

  /** Delivers one file of a pre-signed-PUT recording (its MP4). */
  async deliverPresigned(
    job: UploadJob,
    spec: PresignedPutSpec,
    deps: { queue: UploadQueue; catalog: RecordingCatalog; nodeId: string; dataDir: string },
    app: AppSettings,
    opts: { signal: AbortSignal; log: Logger; onProgress: (loaded: number, total: number) => void; contentType: string },
  ): Promise<UploadCompleted> {
    const { file, recording } = job;
    if (file.kind !== 'mp4') throw new StorageError('output_one_object', `a pre-signed PUT URL takes the recording's MP4 only; ${file.name} stays on this server`, 'permanent');
    if (!file.localPath) throw new StorageError('local_file_missing', `no local path is known for ${file.name}`, 'permanent');
    const others = (await deps.catalog.listParts(file.recordingId)).filter((p) => p.name !== file.name);
    if (others.length) throw new StorageError('output_one_object', `the recording has ${others.length + 1} MP4 parts but a pre-signed PUT URL takes one object; ${file.name} stays on this server (keep recordings shorter than recordSegmentSeconds, or use an s3:// output)`, 'permanent');
    const { bucket, key } = presignedObject(spec.url);
    const url = publicUrl(spec.url);
    const expiry = presignedExpiry(spec.url);
    opts.log.info({ url, expiresAt: expiry ? new Date(expiry).toISOString() : null, attempt: file.attempts + 1 }, 'upload to a pre-signed PUT URL started');
    const done = await putPresigned(spec.url, file.localPath, { contentType: opts.contentType, signal: opts.signal, inactivityMs: this.o.inactivityTimeoutMs, onProgress: opts.onProgress });
    await deps.queue.complete(file.id, deps.nodeId, { bucket, key, url, size: done.size, sha256: done.sha256, etag: done.etag ?? "", verifiedBy: done.verifiedBy });
    let localDeleted = false;
    if (app.s3.storageMode === 'primary') {
      try {
        localDeleted = await deleteLocalCopy(deps.dataDir, file.localPath);
        await deps.catalog.markLocalDeleted(file.id);
      } catch (err) {
        opts.log.warn({ err: (err as Error).message }, 'could not delete the local copy');
      }
    }
    opts.log.info({ url, bucket, key, size: done.size, sha256: done.sha256, etag: done.etag, verifiedBy: done.verifiedBy, localDeleted }, 'upload completed');
    return { app: file.app, recordingId: file.recordingId, streamId: recording.streamId, kind: file.kind, name: file.name, bucket, key, size: done.size, sha256: done.sha256, etag: done.etag ?? "", url, verifiedBy: done.verifiedBy, localDeleted };
  }

  /**
   * Storage validation of a destination: an s3:// one gets the whole probe
   * (write, multipart, HEAD, read, list, abort, delete — what its
   * permissions allow); a pre-signed PUT URL only what can be checked
   * without writing a probe over the recording's own key (its form and
   * expiry), since it grants nothing but that one PUT.
   */
  async validate(app: AppSettings, spec: DestinationSpec): Promise<DestinationValidation> {
    const destination = describeDestination(spec);
    if (spec.kind === 's3') {
      const report = await this.targets.validate(app, spec);
      return { destination, report, ok: report.ok, summary: report.summary };
    }
    const expiry = presignedExpiry(spec.url);
    if (expiry === undefined) return { destination, ok: true, summary: 'the URL names no expiry; nothing is written to check it: a probe would take the place of the recording (a pre-signed URL writes one key only)' };
    const left = Math.round((expiry - Date.now()) / 1000);
    if (left <= 0) return { destination, ok: false, summary: `the URL expired at ${new Date(expiry).toISOString()}` };
    return { destination, ok: true, summary: `the URL is valid for ${left} more seconds; nothing is written to check it: a probe would take the place of the recording (a pre-signed URL writes one key only)` };
  }

  /** Validation of each of an app's destination rules. */
  async validateRules(app: AppSettings): Promise<Array<DestinationValidation & { rule: number; streamId: string }>> {
    const out: Array<DestinationValidation & { rule: number; streamId: string }> = [];
    for (const [i, r] of (app.destinations ?? []).entries()) out.push({ rule: i, streamId: r.streamId, ...(await this.validate(app, ruleSpec(r))) });
    return out;
  }

  /** The rule a stream id would take (API answers). */
  ruleFor(app: AppSettings, streamId: string): number | undefined {
    return matchRule(app, streamId)?.index;
  }
}
