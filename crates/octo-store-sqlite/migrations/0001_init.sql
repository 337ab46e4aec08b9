-- Octo's first schema. Times are Unix milliseconds; ids are UUIDv7 text.
-- `*_key` columns hold the lower-cased name, so uniqueness ignores case.

CREATE TABLE orgs (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE principals (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES orgs(id),
    kind           TEXT NOT NULL,
    name           TEXT NOT NULL,
    name_key       TEXT NOT NULL,
    display_name   TEXT,
    email          TEXT UNIQUE,
    password_hash  TEXT,
    role           TEXT NOT NULL,
    owner_id       TEXT REFERENCES principals(id),
    description    TEXT,
    created_at     INTEGER NOT NULL,
    deactivated    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (org_id, name_key)
) STRICT;

CREATE TABLE tokens (
    id            TEXT PRIMARY KEY,
    principal_id  TEXT NOT NULL REFERENCES principals(id),
    secret_hash   BLOB NOT NULL UNIQUE,
    label         TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER,
    last_used_at  INTEGER,
    revoked_at    INTEGER
) STRICT;
CREATE INDEX tokens_by_principal ON tokens(principal_id);

CREATE TABLE spaces (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs(id),
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    visibility  TEXT NOT NULL,
    created_by  TEXT NOT NULL REFERENCES principals(id),
    created_at  INTEGER NOT NULL,
    UNIQUE (org_id, name_key)
) STRICT;

CREATE TABLE space_members (
    space_id      TEXT NOT NULL REFERENCES spaces(id),
    principal_id  TEXT NOT NULL REFERENCES principals(id),
    role          TEXT NOT NULL,
    PRIMARY KEY (space_id, principal_id)
) STRICT;
CREATE INDEX space_members_by_principal ON space_members(principal_id);

CREATE TABLE categories (
    id          TEXT PRIMARY KEY,
    space_id    TEXT NOT NULL REFERENCES spaces(id),
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    position    INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (space_id, name_key)
) STRICT;

CREATE TABLE channels (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(id),
    space_id     TEXT REFERENCES spaces(id),
    category_id  TEXT REFERENCES categories(id),
    kind         TEXT NOT NULL,
    name         TEXT,
    -- Set only for named channels (kind = 'channel'), which must be unique.
    name_key     TEXT,
    topic        TEXT,
    private      INTEGER NOT NULL,
    last_seq     INTEGER NOT NULL DEFAULT 0,
    created_by   TEXT NOT NULL REFERENCES principals(id),
    created_at   INTEGER NOT NULL,
    dm_key       TEXT
) STRICT;
CREATE UNIQUE INDEX channels_name ON channels(org_id, coalesce(space_id, ''), name_key)
    WHERE name_key IS NOT NULL;
CREATE UNIQUE INDEX channels_dm_key ON channels(org_id, dm_key) WHERE dm_key IS NOT NULL;

CREATE TABLE channel_members (
    channel_id    TEXT NOT NULL REFERENCES channels(id),
    principal_id  TEXT NOT NULL REFERENCES principals(id),
    trigger       TEXT NOT NULL,
    read_seq      INTEGER NOT NULL,
    joined_at     INTEGER NOT NULL,
    PRIMARY KEY (channel_id, principal_id)
) STRICT;
CREATE INDEX channel_members_by_principal ON channel_members(principal_id);

CREATE TABLE overrides (
    resource_kind  TEXT NOT NULL,
    resource_id    TEXT NOT NULL,
    target_kind    TEXT NOT NULL,
    target_id      TEXT NOT NULL,
    action         TEXT NOT NULL,
    effect         TEXT NOT NULL
) STRICT;
CREATE INDEX overrides_by_resource ON overrides(resource_kind, resource_id);

-- The log. The read-model tables below are derived from it in the same transaction.
CREATE TABLE events (
    channel_id  TEXT NOT NULL REFERENCES channels(id),
    seq         INTEGER NOT NULL,
    id          TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    at          INTEGER NOT NULL,
    payload     TEXT NOT NULL,
    PRIMARY KEY (channel_id, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    channel_id      TEXT NOT NULL REFERENCES channels(id),
    seq             INTEGER NOT NULL,
    thread_id       TEXT REFERENCES messages(id),
    author_id       TEXT NOT NULL REFERENCES principals(id),
    text            TEXT NOT NULL,
    data            TEXT,
    mentions        TEXT NOT NULL,
    client_msg_id   TEXT,
    hop             INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    edited_at       INTEGER,
    deleted         INTEGER NOT NULL DEFAULT 0,
    reply_count     INTEGER NOT NULL DEFAULT 0,
    last_reply_at   INTEGER,
    -- Seq of the newest reply: orders threads by activity without ms ties.
    last_reply_seq  INTEGER,
    UNIQUE (channel_id, seq),
    UNIQUE (author_id, client_msg_id)
) STRICT;
CREATE INDEX messages_top_level ON messages(channel_id, seq) WHERE thread_id IS NULL;
CREATE INDEX messages_by_thread ON messages(thread_id, seq) WHERE thread_id IS NOT NULL;
CREATE INDEX messages_active_threads ON messages(channel_id, last_reply_seq)
    WHERE last_reply_seq IS NOT NULL;

CREATE TABLE reactions (
    message_id    TEXT NOT NULL REFERENCES messages(id),
    principal_id  TEXT NOT NULL REFERENCES principals(id),
    emoji         TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (message_id, principal_id, emoji)
) STRICT;
