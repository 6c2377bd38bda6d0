/**
 * The admin side of the durable store, behind interfaces like the rest of
 * it (see types.ts): application settings made through the API, the admin
 * account with its sessions and API tokens, publish credentials (stream keys,
 * signing secrets) and the webhook outbox. Secrets are only ever stored
 * hashed (passwords, session ids, tokens, stream keys) or encrypted
 * (settings holding webhook secrets, signing secrets).
 */

/** An application's settings as the API last saved them (raw JSON, validated by the app schema when read), or its deletion. */
export interface PersistedApp {
  name: string;
  /** The settings, or null when the app was deleted through the API (or they cannot be read: see `unreadable`). */
  settings: unknown | null;
  /** Why saved settings could not be read (e.g. the encryption key changed); they are ignored then. */
  unreadable?: string;
  updatedAt: string;
}

export interface AppSettingsStore {
  /** Every app the API saved or deleted, oldest first. */
  list(): Promise<PersistedApp[]>;
  /** Saves an app's settings (stored encrypted: they may hold webhook secrets). */
  put(name: string, settings: unknown): Promise<void>;
  /** Remembers that an app was deleted (so a config-file app of that name stays deleted). */
  markDeleted(name: string): Promise<void>;
  /**
   * Stores several nodes share: calls `onChange` with an app's name whenever any node saves or deletes it,
   * or with null when changes may have been missed (the connection came back: re-read them all).
   */
  watch?(onChange: (name: string | null) => void, onError?: (message: string) => void): Promise<{ close(): Promise<void> }>;
}

export interface AdminUser {
  id: string;
  username: string;
  /** bcrypt hash. */
  passwordHash: string;
  createdAt: string;
  passwordChangedAt: string;
  /** The password was generated: every route but the password change refuses the account until it is changed. */
  mustChangePassword?: boolean;
}

export interface SessionRecord {
  /** SHA-256 (hex) of the session id the cookie holds; the id itself is never stored. */
  idHash: string;
  userId: string;
  createdAt: string;
  /** Epoch ms; the session is void from then on. */
  expiresAt: number;
  lastSeenAt: number;
  ip?: string;
  userAgent?: string;
}

export interface ApiTokenRecord {
  /** `tok_` + hex; names the token in the API (not the secret). */
  id: string;
  userId: string;
  name: string;
  /** The token's first characters, to tell tokens apart (`bct_Ab3d…`). */
  hint: string;
  createdAt: string;
  /** Epoch ms, or undefined for a token that does not expire. */
  expiresAt?: number;
  lastUsedAt?: string;
  /** What it may do: `read` (GET only), `admin` (everything), `metrics` (`/metrics` only). Absent: `admin`. */
  scope?: TokenScope;
}

/** API token scopes. */
export type TokenScope = 'read' | 'admin' | 'metrics';

export interface AuthStore {
  countUsers(): Promise<number>;
  /** Creates a user; false when the name is taken. */
  createUser(user: AdminUser): Promise<boolean>;
  getUser(id: string): Promise<AdminUser | undefined>;
  getUserByName(username: string): Promise<AdminUser | undefined>;
  setPassword(userId: string, passwordHash: string): Promise<void>;

  createSession(s: SessionRecord): Promise<void>;
  getSession(idHash: string): Promise<SessionRecord | undefined>;
  /** Moves a session's expiry (activity). */
  touchSession(idHash: string, lastSeenAt: number, expiresAt: number): Promise<void>;
  deleteSession(idHash: string): Promise<void>;
  /** Ends a user's sessions, except one (password change); returns how many. */
  deleteUserSessions(userId: string, exceptIdHash?: string): Promise<number>;
  /** Removes sessions that expired before `now`; returns how many. */
  deleteExpiredSessions(now: number): Promise<number>;

  /** Stores a token by its SHA-256. */
  createToken(t: ApiTokenRecord, tokenHash: string): Promise<void>;
  findTokenByHash(tokenHash: string): Promise<ApiTokenRecord | undefined>;
  listTokens(userId: string): Promise<ApiTokenRecord[]>;
  touchToken(id: string, at: string): Promise<void>;
  /** False when there was no such token. */
  deleteToken(userId: string, id: string): Promise<boolean>;
  /** Revokes every token of a user (a password change); returns how many. */
  deleteUserTokens(userId: string): Promise<number>;
}

export interface StreamKeyRecord {
  app: string;
  streamId: string;
  /** The key's first characters (`sk_Ab3d…`). */
  hint: string;
  createdAt: string;
  lastUsedAt?: string;
}

export interface PublishCredentialStore {
  /** Issues (or replaces) the stream key of a stream id, stored by its SHA-256. */
  putStreamKey(record: StreamKeyRecord, keyHash: string): Promise<void>;
  /** The stored hash of a stream id's key. */
  streamKeyHash(app: string, streamId: string): Promise<string | undefined>;
  getStreamKey(app: string, streamId: string): Promise<StreamKeyRecord | undefined>;
  listStreamKeys(app: string): Promise<StreamKeyRecord[]>;
  touchStreamKey(app: string, streamId: string, at: string): Promise<void>;
  /** False when there was none. */
  deleteStreamKey(app: string, streamId: string): Promise<boolean>;
  /** Stores an app's token-signing secret, encrypted. */
  setSigningSecret(app: string, secret: string): Promise<{ createdAt: string }>;
  /** The decrypted signing secret (publish checks and token minting only). */
  signingSecret(app: string): Promise<{ secret: string; createdAt: string } | undefined>;
  /** Removes every stream key and secret of an app (the app was deleted). */
  deleteApp(app: string): Promise<void>;
}

export type DeliveryState = 'pending' | 'delivering' | 'delivered' | 'failed';

export interface NewDelivery {
  /** `evt_` + hex: the delivery id receivers de-duplicate on. */
  id: string;
  app: string;
  event: string;
  url: string;
  /** The JSON body, exactly as it is sent (and signed) at every attempt. */
  body: string;
  /** At most one delivery per key (e.g. `recordingUploaded:<recordingId>:<url>`). */
  dedupeKey: string;
}

export interface WebhookDelivery extends Omit<NewDelivery, 'dedupeKey'> {
  state: DeliveryState;
  attempts: number;
  /** Epoch ms of the next attempt (pending deliveries). */
  nextAttemptAt?: number;
  lastError?: string;
  /** HTTP status of the last attempt, when there was an answer. */
  lastStatus?: number;
  createdAt: string;
  deliveredAt?: string;
  leaseOwner?: string;
  leaseUntil?: number;
}

export interface WebhookOutbox {
  /** Adds a delivery, due now; false (and nothing added) when its dedupe key is known. */
  enqueue(d: NewDelivery): Promise<boolean>;
  /** Leases the next due delivery (oldest first); an expired lease is due again. */
  claim(owner: string, leaseMs: number): Promise<WebhookDelivery | undefined>;
  complete(id: string, owner: string, status: number): Promise<void>;
  /** Counts the attempt and makes the delivery due again at `at`. */
  retryLater(id: string, owner: string, at: number, error: string, status?: number): Promise<void>;
  /** Counts the attempt and gives the delivery up. */
  fail(id: string, owner: string, error: string, status?: number): Promise<void>;
  /** Gives a lease back without counting an attempt (shutdown). */
  release(id: string, owner: string): Promise<void>;
  releaseOwner(owner: string): Promise<number>;
  get(id: string): Promise<WebhookDelivery | undefined>;
  /** Newest first. */
  list(filter: { app?: string; state?: DeliveryState; limit: number; offset?: number }): Promise<WebhookDelivery[]>;
  /** Makes a failed (or pending) delivery due now; false when there is no such delivery or it was delivered. */
  retry(id: string): Promise<boolean>;
  nextDueAt(): Promise<number | undefined>;
  /** Deliveries not yet delivered or given up, and the creation time of the oldest. */
  backlog(): Promise<{ count: number; oldestCreatedAt?: string }>;
  /** Removes delivered and failed deliveries created before `before`; returns how many. */
  prune(before: Date): Promise<number>;
}
