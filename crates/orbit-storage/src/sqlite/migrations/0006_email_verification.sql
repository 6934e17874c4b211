-- Accounts (hardening): email verification at sign-up. Production instances verify by default;
-- users stored before are unverified, since nothing proved their addresses.
ALTER TABLE instances ADD COLUMN sign_up_email_verification INTEGER NOT NULL DEFAULT 0;
UPDATE instances SET sign_up_email_verification = 1 WHERE kind = 'production';
ALTER TABLE users ADD COLUMN email_verification TEXT NOT NULL DEFAULT 'unverified';
ALTER TABLE users ADD COLUMN email_verified_at INTEGER;
CREATE TABLE pending_sign_ups (
    token_hash TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    password_hash TEXT,
    code_hash TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX pending_sign_ups_expires ON pending_sign_ups(expires_at);
