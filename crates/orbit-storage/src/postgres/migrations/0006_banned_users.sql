-- SQLite's migration 11: banned users, an instance's active sessions by last activity, the
-- audit log by instance.
ALTER TABLE users ADD COLUMN banned BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX sessions_instance_active ON sessions(instance_id, status, last_active_at);
CREATE INDEX audit_log_instance ON audit_log(instance_id, rowid);
