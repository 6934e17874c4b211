-- SQLite's migration 10: the operator dashboard's operators, their sessions, the one-time
-- setup links and the audit log.
CREATE TABLE operators (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_sign_in_at BIGINT
);
CREATE TABLE operator_sessions (
    id TEXT PRIMARY KEY,
    operator_id TEXT NOT NULL REFERENCES operators(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_active_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ended_at BIGINT,
    user_agent TEXT
);
CREATE INDEX operator_sessions_operator ON operator_sessions(operator_id);
CREATE TABLE operator_setup_tokens (
    token_hash TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
-- `rowid` is named as SQLite's implicit row id (the order entries were written in), so the
-- audit log's queries are shared.
CREATE TABLE audit_log (
    rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    operator_id TEXT,
    operator_email TEXT,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    instance_id TEXT,
    detail TEXT NOT NULL
);
