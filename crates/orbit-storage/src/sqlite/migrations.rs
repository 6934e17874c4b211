//! Schema migrations for the SQLite adapter, applied in order at start-up. Append only: never
//! edit a migration that has shipped.

pub const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        r#"
CREATE TABLE applications (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE instances (
    id TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('development', 'production')),
    sign_in_url TEXT,
    sign_up_url TEXT,
    allowed_redirect_origins TEXT NOT NULL DEFAULT '[]',
    session_inactivity_ms INTEGER NOT NULL,
    session_lifetime_ms INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE domains (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    name TEXT NOT NULL UNIQUE,
    is_satellite INTEGER NOT NULL,
    fapi_host TEXT NOT NULL UNIQUE,
    verified INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX domains_instance ON domains(instance_id);
CREATE TABLE secret_keys (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    hash TEXT NOT NULL UNIQUE,
    sealed BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    sealed_pkcs8 BLOB NOT NULL,
    public_n BLOB NOT NULL,
    public_e BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER
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
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    last_sign_in_at INTEGER,
    last_active_at INTEGER,
    UNIQUE (instance_id, email)
);
CREATE INDEX users_instance_created ON users(instance_id, created_at);
CREATE TABLE clients (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE client_tokens (
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    fapi_host TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (client_id, fapi_host)
);
CREATE UNIQUE INDEX client_tokens_lookup ON client_tokens(fapi_host, token_hash);
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    last_active_at INTEGER NOT NULL,
    abandon_at INTEGER NOT NULL,
    user_agent TEXT
);
CREATE INDEX sessions_client ON sessions(client_id);
CREATE INDEX sessions_user ON sessions(instance_id, user_id);
CREATE TABLE failed_sign_ins (
    instance_id TEXT NOT NULL,
    identifier TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX failed_sign_ins_lookup ON failed_sign_ins(instance_id, identifier, at);
"#,
    ),
    (
        2,
        r#"
-- Satellites (issue 3): development satellites share the primary's FAPI host, so fapi_host
-- becomes optional; DNS verification keeps its last result.
CREATE TABLE domains_v2 (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    name TEXT NOT NULL UNIQUE,
    is_satellite INTEGER NOT NULL,
    fapi_host TEXT UNIQUE,
    verified INTEGER NOT NULL,
    verification_error TEXT,
    checked_at INTEGER,
    created_at INTEGER NOT NULL
);
INSERT INTO domains_v2 (id, instance_id, name, is_satellite, fapi_host, verified, created_at)
    SELECT id, instance_id, name, is_satellite, fapi_host, verified, created_at FROM domains;
DROP TABLE domains;
ALTER TABLE domains_v2 RENAME TO domains;
CREATE INDEX domains_instance ON domains(instance_id);

CREATE TABLE pending_syncs (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    satellite_domain_id TEXT NOT NULL,
    state_hash TEXT NOT NULL,
    redirect_url TEXT NOT NULL,
    format TEXT NOT NULL,
    suffixed_cookies INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE sync_tokens (
    token_hash TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    satellite_domain_id TEXT NOT NULL,
    pending_sync_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE handshake_nonces (
    nonce_hash TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    directives TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE dev_browsers (
    token_hash TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);
"#,
    ),
    (
        3,
        r#"
-- Development browsers expire after a period without use (hardening): when each was last used.
ALTER TABLE dev_browsers ADD COLUMN last_used_at INTEGER NOT NULL DEFAULT 0;
UPDATE dev_browsers SET last_used_at = created_at;
CREATE INDEX dev_browsers_last_used ON dev_browsers(last_used_at);
"#,
    ),
    (4, include_str!("migrations/0004_domain_dns_recheck.sql")),
    (5, include_str!("migrations/0005_failed_sign_in_source.sql")),
    (6, include_str!("migrations/0006_email_verification.sql")),
    (7, include_str!("migrations/0007_lazy_clients.sql")),
    (8, include_str!("migrations/0008_shared_rate_limits.sql")),
    (9, include_str!("migrations/0009_sign_in_attempts.sql")),
    (10, include_str!("migrations/0010_dashboard.sql")),
    (11, include_str!("migrations/0011_banned_users.sql")),
];
