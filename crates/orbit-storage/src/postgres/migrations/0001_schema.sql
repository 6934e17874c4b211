-- The schema as SQLite's migrations 1-6 leave it, in PostgreSQL's types: BIGINT for integers
-- and milliseconds, BOOLEAN for flags, BYTEA for sealed keys. Later changes are new migrations.
CREATE TABLE applications (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE instances (
    id TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('development', 'production')),
    sign_in_url TEXT,
    sign_up_url TEXT,
    allowed_redirect_origins TEXT NOT NULL DEFAULT '[]',
    session_inactivity_ms BIGINT NOT NULL,
    session_lifetime_ms BIGINT NOT NULL,
    sign_up_email_verification BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
CREATE TABLE domains (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    name TEXT NOT NULL UNIQUE,
    is_satellite BOOLEAN NOT NULL,
    fapi_host TEXT UNIQUE,
    verified BOOLEAN NOT NULL,
    verification_error TEXT,
    checked_at BIGINT,
    dns_failures BIGINT NOT NULL DEFAULT 0,
    dns_failing_since BIGINT,
    suspended_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX domains_instance ON domains(instance_id);
CREATE TABLE secret_keys (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    hash TEXT NOT NULL UNIQUE,
    sealed BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    sealed_pkcs8 BYTEA NOT NULL,
    public_n BYTEA NOT NULL,
    public_e BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);
CREATE INDEX signing_keys_instance ON signing_keys(instance_id);
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    email_id TEXT NOT NULL,
    email TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    password_hash TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_sign_in_at BIGINT,
    last_active_at BIGINT,
    email_verification TEXT NOT NULL DEFAULT 'unverified',
    email_verified_at BIGINT,
    UNIQUE (instance_id, email)
);
CREATE INDEX users_instance_created ON users(instance_id, created_at);
CREATE TABLE clients (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE client_tokens (
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    fapi_host TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, fapi_host)
);
CREATE UNIQUE INDEX client_tokens_lookup ON client_tokens(fapi_host, token_hash);
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_active_at BIGINT NOT NULL,
    abandon_at BIGINT NOT NULL,
    user_agent TEXT
);
CREATE INDEX sessions_client ON sessions(client_id);
CREATE INDEX sessions_user ON sessions(instance_id, user_id);
-- `rowid` is named as SQLite's implicit row id, so the attempt queries are shared.
CREATE TABLE failed_sign_ins (
    rowid BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    instance_id TEXT NOT NULL,
    identifier TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    at BIGINT NOT NULL
);
CREATE INDEX failed_sign_ins_lookup ON failed_sign_ins(instance_id, identifier, at);
CREATE INDEX failed_sign_ins_at ON failed_sign_ins(at);
CREATE TABLE pending_syncs (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    satellite_domain_id TEXT NOT NULL,
    state_hash TEXT NOT NULL,
    redirect_url TEXT NOT NULL,
    format TEXT NOT NULL,
    suffixed_cookies BOOLEAN NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX pending_syncs_expires ON pending_syncs(expires_at);
CREATE TABLE sync_tokens (
    token_hash TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    satellite_domain_id TEXT NOT NULL,
    pending_sync_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sync_tokens_expires ON sync_tokens(expires_at);
CREATE TABLE handshake_nonces (
    nonce_hash TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    directives TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX handshake_nonces_expires ON handshake_nonces(expires_at);
CREATE TABLE dev_browsers (
    token_hash TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL
);
CREATE INDEX dev_browsers_last_used ON dev_browsers(last_used_at);
CREATE INDEX dev_browsers_client ON dev_browsers(client_id);
CREATE TABLE pending_sign_ups (
    token_hash TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    password_hash TEXT,
    code_hash TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX pending_sign_ups_expires ON pending_sign_ups(expires_at);
