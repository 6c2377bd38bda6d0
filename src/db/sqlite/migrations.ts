/**
 * Schema migrations, in order; index + 1 is the version each brings the
 * database to. Never edit a released one: add the next.
 */
export const MIGRATIONS: string[] = [
  // 1: recordings, their files (each file is also its upload job), stored credentials.
  `
  CREATE TABLE recordings (
    id TEXT PRIMARY KEY,
    app TEXT NOT NULL,
    stream_id TEXT NOT NULL,
    protocol TEXT NOT NULL,
    name TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT NOT NULL,
    duration_seconds REAL NOT NULL,
    size_bytes INTEGER NOT NULL,
    video TEXT,
    audio TEXT,
    recovered INTEGER NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE INDEX recordings_by_app ON recordings (app, stream_id, started_at);

  CREATE TABLE recording_files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    recording_id TEXT NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
    app TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    local_path TEXT,
    size INTEGER NOT NULL,
    state TEXT NOT NULL,
    sha256 TEXT,
    etag TEXT,
    bucket TEXT,
    object_key TEXT,
    url TEXT,
    verified_by TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    claims INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    error_code TEXT,
    error_class TEXT,
    next_attempt_at INTEGER,
    lease_owner TEXT,
    lease_until INTEGER,
    multipart_upload_id TEXT,
    multipart_bucket TEXT,
    multipart_key TEXT,
    uploaded_at TEXT,
    local_deleted_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (recording_id, name)
  );
  CREATE INDEX recording_files_due ON recording_files (state, next_attempt_at);
  CREATE INDEX recording_files_by_name ON recording_files (app, name);

  CREATE TABLE credentials (
    id TEXT PRIMARY KEY,
    friendly_name TEXT NOT NULL,
    key_hint TEXT NOT NULL,
    sealed TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  `,
  // 2: the admin API: settings saved through it, the admin account, sessions, API tokens,
  // publish credentials, the webhook outbox.
  `
  CREATE TABLE app_settings (
    name TEXT PRIMARY KEY,
    sealed TEXT,
    deleted INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );

  CREATE TABLE admin_users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    password_changed_at TEXT NOT NULL
  );

  CREATE TABLE admin_sessions (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES admin_users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    ip TEXT,
    user_agent TEXT
  );
  CREATE INDEX admin_sessions_by_user ON admin_sessions (user_id);

  CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES admin_users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    hint TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at INTEGER,
    last_used_at TEXT
  );

  CREATE TABLE stream_keys (
    app TEXT NOT NULL,
    stream_id TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    hint TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    PRIMARY KEY (app, stream_id)
  );

  CREATE TABLE signing_secrets (
    app TEXT PRIMARY KEY,
    sealed TEXT NOT NULL,
    created_at TEXT NOT NULL
  );

  CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    app TEXT NOT NULL,
    event TEXT NOT NULL,
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    lease_owner TEXT,
    lease_until INTEGER,
    last_error TEXT,
    last_status INTEGER,
    created_at TEXT NOT NULL,
    delivered_at TEXT,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
  CREATE INDEX webhook_deliveries_by_app ON webhook_deliveries (app, created_at);
  `,
  // 3: an account whose password was generated must change it at its first login.
  `
  ALTER TABLE admin_users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
  `,
  // 4: resumable multipart uploads: the part size of the upload in flight, and each part it completed.
  `
  ALTER TABLE recording_files ADD COLUMN multipart_part_size INTEGER;
  CREATE TABLE upload_parts (
    file_id INTEGER NOT NULL REFERENCES recording_files (id) ON DELETE CASCADE,
    upload_id TEXT NOT NULL,
    part_number INTEGER NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    checksum TEXT NOT NULL,
    PRIMARY KEY (file_id, upload_id, part_number)
  );
  `,
  // 5: recording parts: each MP4 part's wall-clock span, for the index and time-range playback;
  // a recording is in progress while its stream is still recorded (its parts are cataloged as they close).
  `
  ALTER TABLE recordings ADD COLUMN in_progress INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE recording_parts (
    recording_id TEXT NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
    part INTEGER NOT NULL,
    app TEXT NOT NULL,
    stream_id TEXT NOT NULL,
    name TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT NOT NULL,
    duration_seconds REAL NOT NULL,
    offset_seconds REAL NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (recording_id, part)
  );
  CREATE INDEX recording_parts_by_time ON recording_parts (app, stream_id, started_at);
  CREATE INDEX recordings_by_end ON recordings (app, stream_id, ended_at);
  `,
  // 6: API token scopes (existing tokens keep full access).
  `
  ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'admin';
  `,
  // 7: recording names reserved (the PostgreSQL store shares them across nodes; here it keeps one node's names).
  `
  CREATE TABLE recording_names (
    app TEXT NOT NULL,
    name TEXT NOT NULL,
    node_id TEXT NOT NULL,
    reserved_at TEXT NOT NULL,
    PRIMARY KEY (app, name)
  );
  `,
];
