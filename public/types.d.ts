/**
 * Types of the answers the public pages read (JSDoc `import('./types.js')`
 * from play.js, publish.js, index.js and admin/js). Written by hand after the
 * server's answers (src/api, src/http/landing.ts); never loaded by a browser.
 */

import type { AppSettings } from '../src/config/schema.js';
export type { WebhookEvent } from '../src/config/webhooks-schema.js';

/** A source and an import as `GET /api/v1/applications/<app>/sources` and `…/imports` list them. */
export type { SourceView } from '../src/sources/source-manager.js';
export type { ImportView } from '../src/sources/imports.js';
/** Payloads of the events channel (`/api/v1/events`), by type. */
export type { BusEvents, UploadProgress } from '../src/events/types.js';
import type { FileState, RecordingSummary } from '../src/db/types.js';
export type { FileState, RecordingUploadState } from '../src/db/types.js';
/** `POST /api/v1/applications/<app>/storage/validate`. */
export type { ValidationReport } from '../src/storage/validation/validate.js';

/** What an app's settings tabs are handed (public/admin/js/views/app-settings.js). */
export interface AppTabContext {
  name: string;
  view: Application;
  onSaved: (app: Application) => void;
}

/** A part of a recording (`recordSegmentSeconds`), as src/api/recordings.ts shows it. */
export interface RecordingPart {
  part: number;
  name: string;
  startedAt: string;
  endedAt: string;
  durationSeconds: number;
  offsetSeconds: number;
  size: number;
  url: string;
  state: FileState;
  local: boolean;
}

/** A recording in `GET /api/v1/recordings` (src/api/recordings.ts). */
export type Recording = Omit<RecordingSummary, 'parts'> & {
  node: string;
  inProgress: boolean;
  urls: { mp4: string | null; hls: string | null; poster: string | null; player: string };
  parts: RecordingPart[];
};

/** One file of a recording (`GET /api/v1/recordings/<id>`). */
export interface RecordingFile {
  id: number;
  kind: string;
  name: string;
  size: number;
  url: string;
  state: FileState;
  local: boolean;
  progress: { loaded: number; total: number } | null;
  bucket: string | null;
  key: string | null;
  objectUrl: string | null;
  sha256: string | null;
  etag: string | null;
  verifiedBy: string | null;
  attempts: number;
  lastError: string | null;
  errorCode: string | null;
  errorClass: string | null;
  nextAttemptAt: string | null;
  uploadedAt: string | null;
  localDeletedAt: string | null;
}

/** `GET /api/v1/recordings/<id>`: the recording with its files. */
export type RecordingDetail = Recording & { files: RecordingFile[] };

/** `GET /api/v1/recordings`: one page, newest first. */
export interface RecordingList {
  recordings: Recording[];
  total: number;
  nextPageToken: string | null;
}

/** An app's settings as the API shows them (webhook secrets replaced by `hasSecret`), from the config schema. */
export type PublicAppSettings = Omit<AppSettings, 'webhooks'> & {
  webhooks: Array<Omit<AppSettings['webhooks'][number], 'secret'> & { hasSecret: boolean }>;
};

/** `rtmp`/`whip` publish URLs (src/api/publish-urls.ts). */
export interface PublishUrls {
  rtmp: { server: string; streamKey?: string; url?: string };
  whip?: { url: string; bearerToken?: string };
}

/** One application (`GET /api/v1/applications[/<name>]`, src/api/applications.ts). */
export interface Application {
  name: string;
  source: 'config' | 'api';
  liveStreams: number;
  publish: PublishUrls;
  settings: PublicAppSettings;
}

/** A stored AWS credential (`/api/v1/credentials/aws`, src/api/credentials.ts); never its secret. */
export interface Credential {
  sid: string;
  friendlyName: string | null;
  accessKeyIdHint: string;
  dateCreated: string;
  dateUpdated: string;
  url: string;
  /** Names of the applications whose storage uses it. */
  usedBy: string[];
}

/** `GET /api/v1/credentials/aws`: one page. */
export interface CredentialPage {
  credentials: Credential[];
  meta: { key: string; page: number; pageSize: number; url: string; firstPageUrl: string; nextPageUrl: string | null; previousPageUrl: string | null; nextPageToken: string | null; previousPageToken: string | null };
}

/** A live publisher (`GET /api/v1/streams`, src/api/streams.ts). */
export interface LiveStream {
  app: string;
  streamId: string;
  node: string;
  protocol: string;
  sessionId: string;
  remoteAddress: string;
  startedAt: string;
  durationSeconds: number;
  video: { codec: string; width: number | null; height: number | null; fps: number | null } | null;
  audio: { codec: string } | null;
  bitrate: number;
  bytesIn: number;
  recording: { recordingId: string; name: string; startedAt: string } | null;
  urls: { hls: string; preview: string; player: string };
}

/** `GET /api/v1/streams`: this node's publishers, and those live on other nodes (null while the database cannot be reached). */
export interface StreamsAnswer {
  streams: LiveStream[];
  elsewhere: Array<{ app: string; streamId: string; node: string; since: string }> | null;
}

/** One node (`GET /api/v1/nodes`). */
export interface NodeInfo {
  nodeId: string;
  internalUrl?: string;
  version: string | null;
  startedAt: string;
  lastSeenAt: string;
  liveStreams: number;
  alive: boolean;
  stopped: boolean;
  self: boolean;
}

/** An API token (`GET /api/v1/auth/tokens`); `token` only in the answer that created it. */
export interface ApiToken {
  id: string;
  name: string;
  hint: string;
  scope: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  token?: string;
}

/** `POST /api/v1/auth/password`. */
export interface PasswordChanged {
  sessionsEnded: number;
  tokensRevoked: number;
}

/** A stream key, never the key itself (`GET /api/v1/applications/<app>/stream-keys`). */
export interface StreamKey {
  app: string;
  streamId: string;
  hint: string;
  createdAt: string;
  lastUsedAt: string | null;
}

/** `POST …/stream-keys`: the key, shown once, with the publish settings that carry it. */
export interface IssuedStreamKey extends StreamKey {
  key: string;
  replaced: boolean;
  publish: PublishUrls;
}

/** `POST …/publish-tokens`. */
export interface PublishToken {
  streamId: string;
  token: string;
  expiresAt: string;
  publish: PublishUrls;
}

/** `GET …/signing-secret`. */
export interface SigningSecretInfo {
  exists: boolean;
  createdAt: string | null;
}

/** `POST …/signing-secret`: the new secret, shown once. */
export interface NewSigningSecret {
  secret: string;
  createdAt: string;
}

/** A webhook delivery (`GET /api/v1/webhooks/deliveries`, src/api/webhook-deliveries.ts). */
export interface WebhookDelivery {
  id: string;
  app: string;
  event: string;
  url: string;
  state: 'pending' | 'delivering' | 'delivered' | 'failed';
  attempts: number;
  nextAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

/** A webhook as the panel edits it: the app's (without its secret), or a new one. */
export type PublicWebhook = PublicAppSettings['webhooks'][number];

/** `GET /landing.json` (src/http/landing.ts). */
export interface LandingFacts {
  rtmpPort: number;
  rtmpsPort: number | null;
  whip: boolean;
}

/** One problem with a field of a request body (`error.details[]` of a 400). */
export interface FieldProblem {
  path?: string;
  message: string;
}

/** What the panel's `h()` and `fill()` take as children (false, null and undefined are left out). */
export type Child = Node | string | number | boolean | null | undefined | readonly Child[];

/** `GET /api/v1/auth/me` and `POST /api/v1/auth/login` (src/api/auth-routes.ts). */
export interface Me {
  user: { username: string };
  authenticatedBy?: 'session' | 'token';
  mustChangePassword: boolean;
  /** Sessions only. */
  csrfToken?: string;
  expiresAt?: string;
  /** Tokens only. */
  tokenId?: string;
}

/** `GET /api/v1/server` (src/api/server-info.ts). */
export interface ServerFacts {
  name: string;
  version: string;
  rtmpPort: number;
  publicUrl: string | null;
  uptimeSeconds: number;
  time: string;
  warnings: Array<{ code: string; message: string; apps?: string[] }>;
}

/** `POST /api/v1/applications/<app>/playback-tokens`. */
export interface PlaybackToken {
  token: string;
  /** ISO 8601. */
  expiresAt: string;
  [k: string]: unknown;
}

declare global {
  interface Window {
    /** hls.js, from /vendor/hls.min.js (play.html). */
    Hls?: typeof import('hls.js').default;
  }
}

/** Settings as the panel's forms read and write them: nested objects addressed by dotted paths. */
export type Values = { [key: string]: any };

/** One field of a settings form (public/admin/js/forms.js). */
export interface FieldDef {
  /** Dotted settings path, e.g. `s3.credentials.credentialId`. */
  path: string;
  label: string;
  type?: 'text' | 'number' | 'checkbox' | 'select' | 'list' | 'password';
  help?: string;
  /** An emptied (or hidden) optional field reads as null: the key goes back to its default. */
  optional?: boolean;
  options?: Array<{ value: string; label: string }>;
  min?: number;
  max?: number;
  step?: number | string;
  placeholder?: string;
  suggestions?: string[];
  showIf?: (values: Values) => boolean;
  wide?: boolean;
  extra?: () => Node;
}

/** A fieldset of a settings form. */
export interface FieldGroup {
  legend: string;
  intro?: string;
  fields: FieldDef[];
}
