-- Per-account sign-in limits count each source apart (issue 8 §8): where a failure came from
-- (an IPv4 address or an IPv6 /64). Earlier rows have no source.
ALTER TABLE failed_sign_ins ADD COLUMN source TEXT NOT NULL DEFAULT '';
