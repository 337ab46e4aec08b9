-- Full-text search over message text, uploaded files, and the audit log.

-- The words of every live message, indexed by FTS5. External content: the text
-- itself stays in `messages` (snippets read it from there by rowid), the index
-- holds only the postings. Keyed by the messages rowid, which is stable: rows
-- are never removed (deletes are tombstones) and the store never VACUUMs.
CREATE VIRTUAL TABLE message_search USING fts5(
    text,
    content = 'messages',
    content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);

-- Kept in sync by triggers, so every write path (post, edit, delete, stream
-- deltas and finish) updates the index in its own transaction. The index
-- mirrors every row, as external content requires (a delete must be given
-- exactly the text that was indexed); a deleted message's text is empty, so
-- it matches nothing.
CREATE TRIGGER message_search_insert AFTER INSERT ON messages BEGIN
    INSERT INTO message_search (rowid, text) VALUES (NEW.rowid, NEW.text);
END;
CREATE TRIGGER message_search_update AFTER UPDATE OF text ON messages BEGIN
    INSERT INTO message_search (message_search, rowid, text) VALUES ('delete', OLD.rowid, OLD.text);
    INSERT INTO message_search (rowid, text) VALUES (NEW.rowid, NEW.text);
END;

-- Messages written before this migration.
INSERT INTO message_search (message_search) VALUES ('rebuild');

-- Uploaded files. The bytes live in the object store; this is what is known
-- about them. `message_id` is set once, when a message takes the file.
CREATE TABLE files (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    channel_id    TEXT NOT NULL REFERENCES channels(id),
    uploader_id   TEXT NOT NULL REFERENCES principals(id),
    name          TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    message_id    TEXT REFERENCES messages(id),
    created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX files_by_channel ON files(channel_id, created_at);
CREATE INDEX files_by_message ON files(message_id) WHERE message_id IS NOT NULL;

-- Administrative changes, per org. `before` and `after` are JSON (or NULL).
CREATE TABLE audit (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(id),
    actor_id     TEXT NOT NULL REFERENCES principals(id),
    action       TEXT NOT NULL,
    target_kind  TEXT NOT NULL,
    target_id    TEXT NOT NULL,
    before       TEXT,
    after        TEXT,
    at           INTEGER NOT NULL
) STRICT;
CREATE INDEX audit_by_org ON audit(org_id, at);
