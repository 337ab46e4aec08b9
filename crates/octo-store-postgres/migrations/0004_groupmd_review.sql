-- group.md review mode. A channel without a settings row is in 'auto' mode.
CREATE TABLE groupmd_settings (
    channel_id  TEXT PRIMARY KEY REFERENCES channels(id),
    mode        TEXT NOT NULL,
    updated_by  TEXT NOT NULL REFERENCES principals(id),
    updated_at  BIGINT NOT NULL
);

-- Proposed texts of a channel's or thread's group.md ('' = the channel's own,
-- as in groupmd_revisions). `revision` is set once a proposal is accepted.
CREATE TABLE groupmd_proposals (
    id             TEXT PRIMARY KEY,
    channel_id     TEXT NOT NULL REFERENCES channels(id),
    thread_id      TEXT NOT NULL,
    base_revision  BIGINT NOT NULL,
    text           TEXT NOT NULL,
    summary        TEXT,
    diff           TEXT NOT NULL,
    author_id      TEXT NOT NULL REFERENCES principals(id),
    created_at     BIGINT NOT NULL,
    status         TEXT NOT NULL,
    resolved_by    TEXT REFERENCES principals(id),
    resolved_at    BIGINT,
    revision       BIGINT
);
CREATE INDEX groupmd_proposals_by_scope
    ON groupmd_proposals (channel_id, thread_id, status, created_at);
