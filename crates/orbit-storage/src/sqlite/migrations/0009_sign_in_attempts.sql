-- The Frontend API for clerk-js (issue 10): sign-in attempts as a state machine in the store,
-- bound to the browser that started them by the hash of a token it holds.
CREATE TABLE sign_in_attempts (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    browser_hash TEXT NOT NULL,
    identifier TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('needs_first_factor', 'complete')),
    created_session_id TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sign_in_attempts_expires ON sign_in_attempts(expires_at);
-- Pending sign-ups get the public id clerk-js names them by; rows waiting now get one too.
ALTER TABLE pending_sign_ups ADD COLUMN id TEXT;
UPDATE pending_sign_ups SET id = 'sua_' || lower(hex(randomblob(16))) WHERE id IS NULL;
