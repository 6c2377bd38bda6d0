/**
 * PostgreSQL schema migrations, in order; index + 1 is the version each
 * brings the database to. Never edit a released one: add the next. The tables
 * mirror the SQLite store's (src/db/sqlite/migrations.ts) so both pass one
 * suite. Times the API shows are ISO 8601 text in UTC (compared as text, so
 * those columns use the "C" collation whatever the database's locale); lease
 * and retry times are epoch milliseconds (BIGINT), as the store interface
 * carries them.
 */
export const PG_MIGRATIONS: string[] = [
  // 1: everything the SQLite store had at its version 2 (catalog + queue, credentials, the admin API).
  `
  CREATE TABLE recordings (
    id TEXT COLLATE "C" PRIMARY KEY,
    app TEXT NOT NULL,
    stream_id TEXT NOT NULL,
    protocol TEXT NOT NULL,
    name TEXT NOT NULL,
    started_at TEXT COLLATE "C" NOT NULL,
    ended_at TEXT COLLATE "C" NOT NULL,
    duration_seconds DOUBLE PRECISION NOT NULL,
    size_bytes BIGINT NOT NULL,
    video JSONB,
    audio JSONB,
    recovered BOOLEAN NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL
  );
  CREATE INDEX recordings_by_app ON recordings (app, stream_id, started_at);
  CREATE INDEX recordings_by_start ON recordings (started_at DESC, id DESC);

  CREATE TABLE recording_files (
    id BIGSERIAL PRIMARY KEY,
    recording_id TEXT COLLATE "C" NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
    app TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    local_path TEXT,
    size BIGINT NOT NULL,
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
    next_attempt_at BIGINT,
    lease_owner TEXT,
    lease_until BIGINT,
    multipart_upload_id TEXT,
    multipart_bucket TEXT,
    multipart_key TEXT,
    uploaded_at TEXT COLLATE "C",
    local_deleted_at TEXT COLLATE "C",
    created_at TEXT COLLATE "C" NOT NULL,
    updated_at TEXT COLLATE "C" NOT NULL,
    UNIQUE (recording_id, name)
  );
  CREATE INDEX recording_files_due ON recording_files (state, next_attempt_at);
  CREATE INDEX recording_files_by_name ON recording_files (app, name);
  CREATE INDEX recording_files_by_owner ON recording_files (lease_owner) WHERE lease_owner IS NOT NULL;

  CREATE TABLE credentials (
    id TEXT COLLATE "C" PRIMARY KEY,
    friendly_name TEXT NOT NULL,
    key_hint TEXT NOT NULL,
    sealed TEXT NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    updated_at TEXT COLLATE "C" NOT NULL
  );
  CREATE INDEX credentials_by_creation ON credentials (created_at, id);

  CREATE TABLE app_settings (
    seq BIGSERIAL UNIQUE,
    name TEXT PRIMARY KEY,
    sealed TEXT,
    deleted BOOLEAN NOT NULL DEFAULT false,
    created_at TEXT COLLATE "C" NOT NULL,
    updated_at TEXT COLLATE "C" NOT NULL
  );

  CREATE TABLE admin_users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    password_changed_at TEXT COLLATE "C" NOT NULL
  );

  CREATE TABLE admin_sessions (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES admin_users (id) ON DELETE CASCADE,
    created_at TEXT COLLATE "C" NOT NULL,
    expires_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    ip TEXT,
    user_agent TEXT
  );
  CREATE INDEX admin_sessions_by_user ON admin_sessions (user_id);

  CREATE TABLE api_tokens (
    id TEXT COLLATE "C" PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES admin_users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    hint TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT COLLATE "C" NOT NULL,
    expires_at BIGINT,
    last_used_at TEXT COLLATE "C"
  );

  CREATE TABLE stream_keys (
    app TEXT NOT NULL,
    stream_id TEXT COLLATE "C" NOT NULL,
    key_hash TEXT NOT NULL,
    hint TEXT NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    last_used_at TEXT COLLATE "C",
    PRIMARY KEY (app, stream_id)
  );

  CREATE TABLE signing_secrets (
    app TEXT PRIMARY KEY,
    sealed TEXT NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL
  );

  CREATE TABLE webhook_deliveries (
    id TEXT COLLATE "C" PRIMARY KEY,
    app TEXT NOT NULL,
    event TEXT NOT NULL,
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    lease_owner TEXT,
    lease_until BIGINT,
    last_error TEXT,
    last_status INTEGER,
    created_at TEXT COLLATE "C" NOT NULL,
    delivered_at TEXT COLLATE "C",
    updated_at TEXT COLLATE "C" NOT NULL
  );
  CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
  CREATE INDEX webhook_deliveries_by_app ON webhook_deliveries (app, created_at);
  `,
  // 2: what several nodes share beyond the single-node tables: the fingerprint of the key secrets are
  // sealed with (every node must use the same one), and one publisher per app/stream id across nodes.
  `
  CREATE TABLE store_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );

  CREATE TABLE stream_claims (
    app TEXT NOT NULL,
    stream_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    claimed_at TIMESTAMPTZ NOT NULL,
    lease_until TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (app, stream_id)
  );
  CREATE INDEX stream_claims_by_node ON stream_claims (node_id);
  `,
  // 3: resumable multipart uploads: the part size
  // of the upload in flight, and each part the service acknowledged.
  `
  ALTER TABLE recording_files ADD COLUMN multipart_part_size BIGINT;
  CREATE TABLE upload_parts (
    file_id BIGINT NOT NULL REFERENCES recording_files (id) ON DELETE CASCADE,
    upload_id TEXT NOT NULL,
    part_number INTEGER NOT NULL,
    size BIGINT NOT NULL,
    etag TEXT NOT NULL,
    checksum TEXT NOT NULL,
    PRIMARY KEY (file_id, upload_id, part_number)
  );
  `,
  // 4: recording parts: each MP4 part's
  // wall-clock span, for the index and time-range playback; a recording is in progress while its stream is recorded.
  `
  ALTER TABLE recordings ADD COLUMN in_progress BOOLEAN NOT NULL DEFAULT false;
  CREATE TABLE recording_parts (
    recording_id TEXT COLLATE "C" NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
    part INTEGER NOT NULL,
    app TEXT NOT NULL,
    stream_id TEXT NOT NULL,
    name TEXT NOT NULL,
    started_at TEXT COLLATE "C" NOT NULL,
    ended_at TEXT COLLATE "C" NOT NULL,
    duration_seconds DOUBLE PRECISION NOT NULL,
    offset_seconds DOUBLE PRECISION NOT NULL,
    size BIGINT NOT NULL,
    PRIMARY KEY (recording_id, part)
  );
  CREATE INDEX recording_parts_by_time ON recording_parts (app, stream_id, started_at);
  CREATE INDEX recordings_by_end ON recordings (app, stream_id, ended_at);
  `,
  // 5: an account whose password was generated must change it at its first login; API token scopes
  // (existing tokens keep full access). The SQLite store's migrations 3 and 6.
  `
  ALTER TABLE admin_users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
  ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'admin';
  `,
  // 6: recording names reserved across nodes (a second recording of one stream id within one second on
  // another node gets -2, -3 … as on one node).
  `
  CREATE TABLE recording_names (
    app TEXT NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    node_id TEXT NOT NULL,
    reserved_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (app, name)
  );
  `,
  // 7: which node's disk holds a file (only that node may upload it) and which node made a recording. Filled from
  // the connection's 'bucketcast.node' setting (each node's pool sets it), so every insert carries it.
  `
  ALTER TABLE recording_files ADD COLUMN origin_node TEXT DEFAULT current_setting('bucketcast.node', true);
  ALTER TABLE recordings ADD COLUMN node_id TEXT DEFAULT current_setting('bucketcast.node', true);
  CREATE INDEX recording_files_by_origin ON recording_files (origin_node, state);
  `,
  // 8: each node's heartbeat: where its peers reach it, when it was last seen, what it publishes.
  `
  CREATE TABLE cluster_nodes (
    node_id TEXT PRIMARY KEY,
    internal_url TEXT,
    version TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    live_streams INTEGER NOT NULL DEFAULT 0,
    stopped BOOLEAN NOT NULL DEFAULT false
  );
  `,
];
