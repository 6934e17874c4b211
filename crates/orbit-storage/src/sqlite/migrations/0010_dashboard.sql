-- The operator dashboard (issue 11): operators apart from every instance's end users, their
-- sessions (the browser holds a random token, the row its SHA-256), the one-time setup links
-- that create the first operator, and the audit log of what operators do.
CREATE TABLE operators (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_sign_in_at INTEGER
);
CREATE TABLE operator_sessions (
    id TEXT PRIMARY KEY,
    operator_id TEXT NOT NULL REFERENCES operators(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    last_active_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    ended_at INTEGER,
    user_agent TEXT
);
CREATE INDEX operator_sessions_operator ON operator_sessions(operator_id);
CREATE TABLE operator_setup_tokens (
    token_hash TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
-- Who and what, kept as written: the operator's id and address at the time (no foreign key,
-- so the entry outlives the operator), the action's name, its target, the instance it concerns
-- if any, and a JSON object of the rest. The log is read in the order entries were written:
-- by the implicit `rowid` (entries are never deleted, so it only grows; PostgreSQL names its
-- identity column alike, so the queries are shared).
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    at INTEGER NOT NULL,
    operator_id TEXT,
    operator_email TEXT,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    instance_id TEXT,
    detail TEXT NOT NULL
);
