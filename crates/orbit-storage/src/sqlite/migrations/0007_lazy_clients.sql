-- Clients are created lazily (hardening): a development browser may stand for no client yet
-- (a browser that only visited), and a sync token of a browser signed out on the primary links
-- the satellite to no client. SQLite cannot drop NOT NULL in place: both tables are rebuilt.
CREATE TABLE dev_browsers_new (
    token_hash TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    client_id TEXT REFERENCES clients(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL DEFAULT 0
);
INSERT INTO dev_browsers_new (token_hash, instance_id, client_id, created_at, last_used_at)
    SELECT token_hash, instance_id, client_id, created_at, last_used_at FROM dev_browsers;
DROP TABLE dev_browsers;
ALTER TABLE dev_browsers_new RENAME TO dev_browsers;
CREATE INDEX dev_browsers_last_used ON dev_browsers(last_used_at);
CREATE INDEX dev_browsers_client ON dev_browsers(client_id);

CREATE TABLE sync_tokens_new (
    token_hash TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    client_id TEXT,
    satellite_domain_id TEXT NOT NULL,
    pending_sync_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
INSERT INTO sync_tokens_new (token_hash, instance_id, client_id, satellite_domain_id, pending_sync_id,
        expires_at)
    SELECT token_hash, instance_id, client_id, satellite_domain_id, pending_sync_id, expires_at
    FROM sync_tokens;
DROP TABLE sync_tokens;
ALTER TABLE sync_tokens_new RENAME TO sync_tokens;
