-- Verified satellites are re-checked (hardening, issue 8 item 15): the current run of failed
-- DNS re-checks, when it began, and when the domain was suspended for it.
ALTER TABLE domains ADD COLUMN dns_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE domains ADD COLUMN dns_failing_since INTEGER;
ALTER TABLE domains ADD COLUMN suspended_at INTEGER;
