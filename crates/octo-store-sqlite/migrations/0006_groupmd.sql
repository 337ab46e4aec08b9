-- group.md revisions of channels and threads. Revision 0 (the empty template) is
-- never stored: a scope without rows is at revision 0. `thread_id` is '' for the
-- channel's own document, so the primary key covers both.
CREATE TABLE groupmd_revisions (
    channel_id     TEXT NOT NULL REFERENCES channels(id),
    thread_id      TEXT NOT NULL,
    revision       INTEGER NOT NULL,
    base_revision  INTEGER NOT NULL,
    author_id      TEXT NOT NULL REFERENCES principals(id),
    created_at     INTEGER NOT NULL,
    text           TEXT NOT NULL,
    diff           TEXT NOT NULL,
    PRIMARY KEY (channel_id, thread_id, revision)
) WITHOUT ROWID;
