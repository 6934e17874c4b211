-- Sign-in rate limits held in the database (issue 9), so that they hold across every node on it
-- instead of once per node in each process's memory.
-- A token bucket per instance and bucket name ('ip <source>', 'instance'): its theoretical
-- arrival time in microseconds (orbit-core limits.rs `RateLimit`). A row whose tat has passed is
-- a full bucket, pruned by housekeeping. No index on tat: it changes on every take, and the prune
-- runs once a round over a table that holds only the buckets of recent sources.
CREATE TABLE rate_limits (
    instance_id TEXT NOT NULL,
    bucket TEXT NOT NULL,
    tat INTEGER NOT NULL,
    PRIMARY KEY (instance_id, bucket)
);
-- The pacing of an account past its hourly ceiling of failures (`AccountPace`): the first free
-- slot, the slots held by source (a JSON object), and when the state stops limiting anything.
CREATE TABLE account_pacing (
    instance_id TEXT NOT NULL,
    identifier TEXT NOT NULL,
    next_free INTEGER NOT NULL,
    held TEXT NOT NULL,
    drained_at INTEGER NOT NULL,
    PRIMARY KEY (instance_id, identifier)
);
