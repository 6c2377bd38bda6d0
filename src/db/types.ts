/**
 * The server's durable state behind small interfaces: the recording catalog,
 * the upload queue and the credential store. Every method is async so a
 * shared database (PostgreSQL, for several nodes) can implement them too; the
 * SQLite implementation in `sqlite/` commits each call durably before it
 * resolves. One shared test suite (test/helpers/store-suite.ts) runs against
 * every implementation.
 *
 * In the catalog each file of a recording is also its upload job: enqueueing
 * moves a file from `local` to `queued`, and the queue leases, retries and
 * completes it. Keyed by recording id + file name, so announcing a recording
 * twice changes nothing.
 */
import type { FileKind, RecordedPart, RecordingCompleted } from '../events/types.js';
import type { AppSettingsStore, AuthStore, PublishCredentialStore, WebhookOutbox } from './admin-types.js';

/**
 * Where a file stands:
 * - `local`: on local disk only, not to be uploaded (its kind is not uploaded, or uploads were off);
 * - `queued`: waiting for an upload attempt (`nextAttemptAt`);
 * - `uploading`: leased by a node until `leaseUntil`;
 * - `uploaded`: in the bucket and verified;
 * - `failed`: a permanent error; waits for a settings change or a retry request.
 */
export type FileState = 'local' | 'queued' | 'uploading' | 'uploaded' | 'failed';

/** A recording as `recording.completed` described it (its files are `FileRecord`s). */
export interface RecordingRecord extends Omit<RecordingCompleted, 'files' | 'parts'> {
  /** When the catalog learnt of it. */
  createdAt: string;
  /** True while its stream is still recorded: parts are added as they close, its end and duration grow. */
  inProgress?: boolean;
  /** Its MP4 parts in time order (filled by `getRecording`, `listRecordings` and the sidecar's upload job). */
  parts?: PartRecord[];
  /** The node that recorded it (PostgreSQL store; unset on SQLite, where it is always this node). */
  node?: string;
}

/** A recording's MP4 part in the catalog: its wall-clock span (see `RecordedPart`); its file is the `FileRecord` of the same name. */
export interface PartRecord extends Omit<RecordedPart, 'path'> {
  recordingId: string;
  app: string;
  streamId: string;
}

/** A part with where its file is now, for time-range playback. */
export interface PartLocation extends PartRecord {
  /** Local path while the local copy exists. */
  localPath?: string;
  /** Upload state of its file. */
  state: FileState;
  bucket?: string;
  key?: string;
}

/** A file to add to the catalog. `localPath` is null for files made at upload time (the metadata sidecar). */
export interface NewFile {
  kind: FileKind;
  name: string;
  localPath: string | null;
  size: number;
}

export interface FileRecord extends NewFile {
  id: number;
  recordingId: string;
  app: string;
  state: FileState;
  /** SHA-256 (hex), once uploaded. */
  sha256?: string;
  etag?: string;
  bucket?: string;
  key?: string;
  url?: string;
  verifiedBy?: 'head' | 'upload-response';
  /** Failed attempts so far. */
  attempts: number;
  lastError?: string;
  errorCode?: string;
  errorClass?: 'retryable' | 'permanent';
  /** Epoch ms of the next attempt (queued files). */
  nextAttemptAt?: number;
  leaseOwner?: string;
  leaseUntil?: number;
  /** A multipart upload started for this file and not yet completed or aborted. */
  multipart?: MultipartRef;
  /** Times an attempt was started (claims); above 1 an earlier attempt may have left parts behind. */
  claims: number;
  uploadedAt?: string;
  localDeletedAt?: string;
  /** The node whose disk holds the local copy (PostgreSQL store); only it uploads the file. */
  originNode?: string;
}

export interface MultipartRef {
  uploadId: string;
  bucket: string;
  key: string;
  /** Bytes per part (all but the last); a resumed upload keeps it. Unset for uploads recorded before resuming existed. */
  partSize?: number;
}

/** A part of a multipart upload the service acknowledged. */
export interface UploadedPart {
  partNumber: number;
  size: number;
  /** ETag the service answered (unquoted). */
  etag: string;
  /** Base64 MD5 of the part as sent (Content-MD5, which the service checked). */
  checksum: string;
}

export interface RecordingWithFiles extends RecordingRecord {
  files: FileRecord[];
}

/**
 * What a recording's uploads add up to: `uploading` when a file is being sent,
 * else `failed` when one failed for good, else `queued` when one waits (also
 * between retries), else `uploaded` when one was uploaded, else `local`.
 */
export type RecordingUploadState = 'local' | 'queued' | 'uploading' | 'uploaded' | 'failed';

export interface RecordingFilter {
  app?: string;
  streamId?: string;
  uploadState?: RecordingUploadState;
  /** ISO 8601: recordings that started at or after it. */
  startedFrom?: string;
  /** ISO 8601: recordings that started before it. */
  startedBefore?: string;
  /** ISO 8601 wall-clock: recordings that end after it (with `to`: that overlap the range). */
  from?: string;
  /** ISO 8601 wall-clock: recordings that start before it. */
  to?: string;
}

/** A recording in a listing, with its upload state. */
export interface RecordingSummary extends RecordingRecord {
  uploadState: RecordingUploadState;
  /** Files per state. */
  fileCounts: Record<FileState, number>;
}

export interface RecordingCatalog {
  /**
   * Adds a recording, its files in state `local` and its parts; files and parts already known are left as
   * they are. A recording in progress (its parts cataloged while live) is completed: its facts replace the
   * provisional ones.
   */
  addRecording(recording: Omit<RecordingRecord, 'createdAt' | 'parts'>, files: NewFile[], parts?: RecordedPart[]): Promise<void>;
  getRecording(recordingId: string): Promise<RecordingWithFiles | undefined>;
  /** Newest first (by start, then id); `after` continues a listing after the given recording (keyset paging). */
  listRecordings(filter?: RecordingFilter & { limit?: number; offset?: number; after?: { startedAt: string; recordingId: string } }): Promise<RecordingSummary[]>;
  countRecordings(filter?: RecordingFilter): Promise<number>;
  /** Removes a recording and its files from the catalog (not from disk or bucket); false when unknown. */
  deleteRecording(recordingId: string): Promise<boolean>;
  /** Files waiting for or in upload: how many, their bytes, and when the oldest was cataloged. */
  uploadBacklog(): Promise<{ files: number; bytes: number; oldestCreatedAt?: string }>;
  /** A file by the name it is served under, for `/<app>/streams|previews/<name>`. */
  findFile(app: string, name: string): Promise<FileRecord | undefined>;
  /** Uploaded files whose local copy still exists, of recordings that ended before `endedBefore`. */
  uploadedLocalCopies(app: string, endedBefore: Date, limit: number): Promise<FileRecord[]>;
  /** Records that a file's local copy is gone. */
  markLocalDeleted(fileId: number): Promise<void>;
  /** Files per state, optionally for one app. */
  countByState(app?: string): Promise<Record<FileState, number>>;
  /**
   * Catalogs a part of a recording in progress: creates the recording (in
   * progress) if new, adds the part and its file (state `local`), and grows
   * the recording's end, duration and size. Idempotent.
   */
  addPart(recording: Omit<RecordingRecord, 'createdAt' | 'parts'>, part: RecordedPart, file: NewFile): Promise<void>;
  /** Catalogs files of a recording in progress (live HLS): creates the recording (in progress) if new; files known are left as they are. */
  addLiveFiles(recording: Omit<RecordingRecord, 'createdAt' | 'parts'>, files: NewFile[]): Promise<void>;
  /** Points an uploaded file at another local copy of the same bytes (its final place); false unless uploaded. */
  relocate(recordingId: string, name: string, localPath: string): Promise<boolean>;
  /** A recording's parts in order. */
  listParts(recordingId: string): Promise<PartRecord[]>;
  /** Parts of a stream whose wall-clock span overlaps [from, to), in time order, with where their files are. */
  partsBetween(app: string, streamId: string, from: string, to: string): Promise<PartLocation[]>;
  /** Parts cataloged and not uploaded yet (queued, uploading, failed): how many, and when the oldest part closed. */
  partBacklog(): Promise<{ parts: number; oldestEndedAt?: string; uploaded: number }>;
}

/** A leased file plus what the uploader needs to know of its recording. */
export interface UploadJob {
  file: FileRecord;
  recording: RecordingRecord;
}

/** What a verified upload leaves in the catalog. */
export interface UploadResult {
  bucket: string;
  key: string;
  url: string;
  size: number;
  sha256: string;
  etag: string;
  verifiedBy: 'head' | 'upload-response';
}

export interface UploadQueue {
  /**
   * Queues a file again with new content (a live playlist that grew), whether it was local, queued or
   * uploaded; false while it is being uploaded (or failed): then nothing changes.
   */
  requeue(recordingId: string, name: string, file: { localPath: string; size: number }): Promise<boolean>;
  /** Queues the named files of a recording that are still `local`; returns how many were queued. Idempotent. */
  enqueue(recordingId: string, names: string[]): Promise<number>;
  /**
   * Leases the next due file (oldest first) to `owner` for `leaseMs`. A metadata
   * sidecar is due only once every other queued file of its recording is uploaded. On a store several
   * nodes share, only files of this node (`originNode`) are due, and with `adoptFromDeadNodes` also those of
   * a node not seen for 30 s (shared storage).
   */
  claim(owner: string, leaseMs: number, opts?: { excludeApps?: string[]; adoptFromDeadNodes?: boolean }): Promise<UploadJob | undefined>;
  /** Extends a lease; false when it was lost. */
  renew(fileId: number, owner: string, leaseMs: number): Promise<boolean>;
  /** Remembers (or forgets, with null) the multipart upload in flight for a file. */
  setMultipart(fileId: number, multipart: MultipartRef | null): Promise<void>;
  /** Records a part of the file's multipart upload as acknowledged (forgotten with the upload by `setMultipart(null)` and `complete`). */
  addPart(fileId: number, uploadId: string, part: UploadedPart): Promise<void>;
  /** The parts recorded for the file's multipart upload, by part number. */
  parts(fileId: number, uploadId: string): Promise<UploadedPart[]>;
  /** The file is in the bucket and verified. */
  complete(fileId: number, owner: string, result: UploadResult): Promise<void>;
  /** A retryable failure: counts the attempt and queues the file again at `at`. */
  retryLater(fileId: number, owner: string, at: number, error: { code: string; message: string }): Promise<void>;
  /** A permanent failure: the file waits in `failed` for a settings change or `retryFailed`. */
  fail(fileId: number, owner: string, error: { code: string; message: string }): Promise<void>;
  /** Fails every queued file of an app with the same error (its target is wrong); returns how many. */
  failQueued(app: string, error: { code: string; message: string }): Promise<number>;
  /** Gives a lease back without counting an attempt (shutdown). */
  release(fileId: number, owner: string): Promise<void>;
  /** Gives back every lease `owner` holds (a restart of the same node); returns how many. */
  releaseOwner(owner: string): Promise<number>;
  /** Queues failed files again, now; returns how many. */
  retryFailed(filter: { app?: string; recordingId?: string; fileId?: number }): Promise<number>;
  /** Epoch ms when the next queued file is due, if any. */
  nextDueAt(opts?: { excludeApps?: string[]; adoptFromDeadNodes?: boolean }): Promise<number | undefined>;
}

/** A stored credential as it may be shown: never the secret. */
export interface StoredCredential {
  /** `CR` + 32 hex digits. */
  id: string;
  friendlyName: string;
  /** First and last characters of the access key id, e.g. `AKIA…MPLE`. */
  accessKeyIdHint: string;
  createdAt: string;
  updatedAt: string;
}

export interface CredentialPage {
  items: StoredCredential[];
  /** Pass as `pageToken` for the next page; absent on the last page. */
  nextPageToken?: string;
  /** Pass as `pageToken` for the page before; absent on the first page. */
  previousPageToken?: string;
}

export interface CredentialStore {
  /** Stores `AKID:SECRET` encrypted; the friendly name is at most 64 characters. */
  create(input: { credentials: string; friendlyName?: string }): Promise<StoredCredential>;
  get(id: string): Promise<StoredCredential | undefined>;
  list(opts?: { pageSize?: number; pageToken?: string }): Promise<CredentialPage>;
  updateFriendlyName(id: string, friendlyName: string): Promise<StoredCredential>;
  /** False when there was no such credential. */
  delete(id: string): Promise<boolean>;
  /** The decrypted key pair, for the S3 client only; never log or return it. */
  reveal(id: string): Promise<{ accessKeyId: string; secretAccessKey: string } | undefined>;
}

/** A node's hold on one `app/streamId` while it is published there. */
export interface StreamClaim {
  app: string;
  streamId: string;
  nodeId: string;
  claimedAt: string;
  /** Epoch ms (database clock) when the claim lapses unless renewed. */
  leaseUntil: number;
}

/**
 * One publisher per `app/streamId` across every node sharing one database:
 * a node claims a stream before accepting its publisher, renews its claims
 * while they are live, releases each at the end; a claim its node stopped
 * renewing (the node died) lapses at `leaseUntil`. Lease times are the
 * database's clock, so nodes' clocks need not agree.
 */
export interface StreamClaimStore {
  /** Takes the stream for `nodeId` for `leaseMs`; refused (naming the holder) while another node's claim is live. */
  claim(app: string, streamId: string, nodeId: string, leaseMs: number): Promise<{ ok: true } | { ok: false; heldBy: string }>;
  /** Extends the named claims of `nodeId` to `leaseMs` from now; returns how many it still held. */
  renew(nodeId: string, streams: ReadonlyArray<{ app: string; streamId: string }>, leaseMs: number): Promise<number>;
  /** Gives one claim back; false when `nodeId` did not hold it. */
  release(app: string, streamId: string, nodeId: string): Promise<boolean>;
  /** Gives back every claim of a node (its restart: it publishes nothing yet); returns how many. */
  releaseNode(nodeId: string): Promise<number>;
  /** Live (unexpired) claims, by app and stream id. */
  list(): Promise<StreamClaim[]>;
}

/**
 * Recording names reserved before a recording starts, so no two recordings
 * (on one node or on several sharing one database) take one name, and with it
 * one object key.
 */
export interface RecordingNameStore {
  /** Reserves `name` in `app` for `nodeId`; false when it was reserved before (by any node). */
  reserve(app: string, name: string, nodeId: string): Promise<boolean>;
  /** The node that reserved a name, if any. */
  nodeOf(app: string, name: string): Promise<string | undefined>;
}

/** A node of the cluster as its heartbeat shows it. */
export interface ClusterNode {
  nodeId: string;
  /** Where its peers reach its HTTP port (`server.internalUrl`), if it said. */
  internalUrl?: string;
  version: string;
  startedAt: string;
  lastSeenAt: string;
  /** Publishers live on it at its last heartbeat. */
  liveStreams: number;
  /** Seen within the heartbeat lapse (and not stopped). */
  alive: boolean;
  /** It stopped cleanly (a node that died just stops being seen). */
  stopped: boolean;
}

/** The nodes sharing one database (PostgreSQL), their heartbeats, and messages between them. */
export interface ClusterNodeStore {
  /** Upserts this node's row with `last_seen_at = now()`. */
  heartbeat(node: { nodeId: string; internalUrl?: string; version: string; startedAt: string; liveStreams: number }): Promise<void>;
  /** Marks a node stopped (clean shutdown). */
  stopped(nodeId: string): Promise<void>;
  /** Every node ever seen, alive ones first; `alive` is judged against the database clock with `lapseMs`. */
  list(lapseMs: number): Promise<ClusterNode[]>;
  /** Sends a message to every node listening on `channel` (PostgreSQL NOTIFY). */
  notify(channel: string, payload: string): Promise<void>;
  /** Listens on `channel` (a dedicated connection that reconnects). */
  listen(channel: string, onPayload: (payload: string | null) => void, onError?: (message: string) => void): Promise<{ close(): Promise<void> }>;
}

/** Everything durable, opened once at start-up. */
export interface Store {
  catalog: RecordingCatalog;
  queue: UploadQueue;
  credentials: CredentialStore;
  // admin API (src/db/admin-types.ts)
  appSettings: AppSettingsStore;
  auth: AuthStore;
  publishCredentials: PublishCredentialStore;
  outbox: WebhookOutbox;
  /** Cluster-wide publish claims: only a store several nodes share has them (PostgreSQL). */
  streamClaims?: StreamClaimStore;
  /** Recording names reserved (across nodes on PostgreSQL). */
  recordingNames: RecordingNameStore;
  /** The cluster's nodes: only a store several nodes share has them (PostgreSQL). */
  nodes?: ClusterNodeStore;
  /** A key derived from the server's secret key for one purpose (HKDF; see SecretBox.derive). */
  deriveKey(purpose: string): Buffer;
  /**
   * Resolves once every write that returned before the call survives a power
   * cut. Awaited before destroying data on the strength of a row (a local copy
   * after its upload, a recording's work dir after it was cataloged).
   */
  durable(): Promise<void>;
  close(): Promise<void>;
}
