-- SQLite's migration 8: sign-in rate limits held in the database, so that they hold across
-- every node on it (token buckets as arrival times in microseconds, account pacing).
-- UNLOGGED: their writes skip the WAL, so a take commits without waiting for a WAL flush (about
-- 0.4 ms instead of 2 ms a take on a disk that takes 2 ms to sync, and no queue of syncs on the
-- instance's one bucket). After a crash PostgreSQL empties them: every bucket full, every pace
-- forgotten (the newest failure spaces the next slot), which is what a restart of a node did when
-- they lived in its memory. They are not replicated to standbys for the same reason.
CREATE UNLOGGED TABLE rate_limits (
    instance_id TEXT NOT NULL,
    bucket TEXT NOT NULL,
    tat BIGINT NOT NULL,
    PRIMARY KEY (instance_id, bucket)
);
CREATE UNLOGGED TABLE account_pacing (
    instance_id TEXT NOT NULL,
    identifier TEXT NOT NULL,
    next_free BIGINT NOT NULL,
    held TEXT NOT NULL,
    drained_at BIGINT NOT NULL,
    PRIMARY KEY (instance_id, identifier)
);
