-- SQLite's migration 7: clients are created lazily, so a development browser may stand for no
-- client yet and a sync token may link none.
ALTER TABLE dev_browsers ALTER COLUMN client_id DROP NOT NULL;
ALTER TABLE sync_tokens ALTER COLUMN client_id DROP NOT NULL;
