-- SQLite's migration 8: sign-in rate limits held in the database, so that they hold across
-- every node on it (token buckets as arrival times in microseconds, account pacing).
CREATE TABLE rate_limits (
    instance_id TEXT NOT NULL,
    bucket TEXT NOT NULL,
    tat BIGINT NOT NULL,
    PRIMARY KEY (instance_id, bucket)
);
CREATE TABLE account_pacing (
    instance_id TEXT NOT NULL,
    identifier TEXT NOT NULL,
    next_free BIGINT NOT NULL,
    held TEXT NOT NULL,
    drained_at BIGINT NOT NULL,
    PRIMARY KEY (instance_id, identifier)
);
