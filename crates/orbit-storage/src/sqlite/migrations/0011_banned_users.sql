-- The dashboard's Users and Sessions pages (issue 11): users an operator banned (they cannot
-- sign in; the ban ended their sessions), an instance's active sessions most recently active
-- first, and the audit log filtered by instance.
ALTER TABLE users ADD COLUMN banned INTEGER NOT NULL DEFAULT 0;
CREATE INDEX sessions_instance_active ON sessions(instance_id, status, last_active_at);
CREATE INDEX audit_log_instance ON audit_log(instance_id);
