-- SQLite's migration 9: the Frontend API's sign-in attempts, and public ids of pending sign-ups.
CREATE TABLE sign_in_attempts (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    browser_hash TEXT NOT NULL,
    identifier TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('needs_first_factor', 'complete')),
    created_session_id TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sign_in_attempts_expires ON sign_in_attempts(expires_at);
ALTER TABLE pending_sign_ups ADD COLUMN id TEXT;
UPDATE pending_sign_ups SET id = 'sua_' || md5(random()::text || token_hash) WHERE id IS NULL;
