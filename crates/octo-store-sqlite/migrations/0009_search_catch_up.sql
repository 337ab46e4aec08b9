-- The search index catches up in batches instead of row by row: FTS5 writes
-- a segment at every commit (and savepoint release) that touched it, so
-- indexing each message as it is posted cost a segment per message. New
-- messages are now indexed by `search_index::catch_up` (on the writer, a few
-- times a second, and before every search); this row says how far it got.
CREATE TABLE search_progress (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    -- Every messages row with rowid <= this is in the index.
    indexed_through  INTEGER NOT NULL
);
INSERT INTO search_progress (id, indexed_through)
    SELECT 1, coalesce(max(rowid), 0) FROM messages;

DROP TRIGGER message_search_insert;
DROP TRIGGER message_search_update;
-- An indexed row's new text replaces its old one in the index; a row not yet
-- indexed is picked up with its current text by the next catch-up.
CREATE TRIGGER message_search_update AFTER UPDATE OF text ON messages
WHEN OLD.rowid <= (SELECT indexed_through FROM search_progress WHERE id = 1)
BEGIN
    INSERT INTO message_search (message_search, rowid, text) VALUES ('delete', OLD.rowid, OLD.text);
    INSERT INTO message_search (rowid, text) VALUES (NEW.rowid, NEW.text);
END;
