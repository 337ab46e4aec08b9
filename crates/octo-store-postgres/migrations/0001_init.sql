-- Octo's schema on PostgreSQL: the same tables as the SQLite backend (its
-- migrations 0001–0005 folded into one). Times are Unix milliseconds; ids are
-- UUIDv7 text; `*_key` columns hold the lower-cased name, so uniqueness
-- ignores case. `pos` (an identity) gives listings their insertion order,
-- as SQLite's rowid does. JSON is stored as text, read and written whole.

CREATE TABLE orgs (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE principals (
    pos            BIGINT GENERATED ALWAYS AS IDENTITY,
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
    created_at     BIGINT NOT NULL,
    deactivated    BOOLEAN NOT NULL DEFAULT FALSE,
    skills         TEXT NOT NULL DEFAULT '[]',
    avatar_url     TEXT,
    UNIQUE (org_id, name_key)
);
CREATE INDEX principals_by_org ON principals(org_id, pos);

CREATE TABLE tokens (
    pos           BIGINT GENERATED ALWAYS AS IDENTITY,
    id            TEXT PRIMARY KEY,
    principal_id  TEXT NOT NULL REFERENCES principals(id),
    secret_hash   BYTEA NOT NULL UNIQUE,
    label         TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT,
    last_used_at  BIGINT,
    revoked_at    BIGINT
);
CREATE INDEX tokens_by_principal ON tokens(principal_id, pos);

CREATE TABLE spaces (
    pos         BIGINT GENERATED ALWAYS AS IDENTITY,
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs(id),
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    visibility  TEXT NOT NULL,
    created_by  TEXT NOT NULL REFERENCES principals(id),
    created_at  BIGINT NOT NULL,
    UNIQUE (org_id, name_key)
);

CREATE TABLE space_members (
    pos           BIGINT GENERATED ALWAYS AS IDENTITY,
    space_id      TEXT NOT NULL REFERENCES spaces(id),
    principal_id  TEXT NOT NULL REFERENCES principals(id),
    role          TEXT NOT NULL,
    PRIMARY KEY (space_id, principal_id)
);
CREATE INDEX space_members_by_principal ON space_members(principal_id);

CREATE TABLE categories (
    pos         BIGINT GENERATED ALWAYS AS IDENTITY,
    id          TEXT PRIMARY KEY,
    space_id    TEXT NOT NULL REFERENCES spaces(id),
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    position    BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (space_id, name_key)
);

-- `last_seq` is the channel's seq allocator: every append bumps it with
-- UPDATE … RETURNING, which holds the row lock until commit, so writers on any
-- node get gapless seqs in commit order.
CREATE TABLE channels (
    pos          BIGINT GENERATED ALWAYS AS IDENTITY,
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(id),
    space_id     TEXT REFERENCES spaces(id),
    category_id  TEXT REFERENCES categories(id),
    kind         TEXT NOT NULL,
    name         TEXT,
    name_key     TEXT,
    topic        TEXT,
    private      BOOLEAN NOT NULL,
    last_seq     BIGINT NOT NULL DEFAULT 0,
    created_by   TEXT NOT NULL REFERENCES principals(id),
    created_at   BIGINT NOT NULL,
    dm_key       TEXT,
    agent_hop_limit            BIGINT NOT NULL DEFAULT 4,
    agent_triggers_per_minute  BIGINT NOT NULL DEFAULT 30
);
CREATE UNIQUE INDEX channels_name ON channels(org_id, coalesce(space_id, ''), name_key)
    WHERE name_key IS NOT NULL;
CREATE UNIQUE INDEX channels_dm_key ON channels(org_id, dm_key) WHERE dm_key IS NOT NULL;
CREATE INDEX channels_by_org ON channels(org_id, pos);

CREATE TABLE channel_members (
    pos           BIGINT GENERATED ALWAYS AS IDENTITY,
    channel_id    TEXT NOT NULL REFERENCES channels(id),
    principal_id  TEXT NOT NULL REFERENCES principals(id),
    trigger       TEXT NOT NULL,
    read_seq      BIGINT NOT NULL,
    acked_seq     BIGINT NOT NULL,
    joined_at     BIGINT NOT NULL,
    PRIMARY KEY (channel_id, principal_id)
);
CREATE INDEX channel_members_by_principal ON channel_members(principal_id);

CREATE TABLE overrides (
    pos            BIGINT GENERATED ALWAYS AS IDENTITY,
    resource_kind  TEXT NOT NULL,
    resource_id    TEXT NOT NULL,
    target_kind    TEXT NOT NULL,
    target_id      TEXT NOT NULL,
    action         TEXT NOT NULL,
    effect         TEXT NOT NULL
);
CREATE INDEX overrides_by_resource ON overrides(resource_kind, resource_id);

-- The log. The read-model tables are derived from it in the same transaction.
CREATE TABLE events (
    channel_id  TEXT NOT NULL REFERENCES channels(id),
    seq         BIGINT NOT NULL,
    id          TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    at          BIGINT NOT NULL,
    payload     TEXT NOT NULL,
    PRIMARY KEY (channel_id, seq)
);

CREATE TABLE messages (
    pos             BIGINT GENERATED ALWAYS AS IDENTITY,
    id              TEXT PRIMARY KEY,
    channel_id      TEXT NOT NULL REFERENCES channels(id),
    seq             BIGINT NOT NULL,
    thread_id       TEXT REFERENCES messages(id),
    author_id       TEXT NOT NULL REFERENCES principals(id),
    text            TEXT NOT NULL,
    data            TEXT,
    mentions        TEXT NOT NULL,
    client_msg_id   TEXT,
    hop             BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    edited_at       BIGINT,
    deleted         BOOLEAN NOT NULL DEFAULT FALSE,
    reply_count     BIGINT NOT NULL DEFAULT 0,
    last_reply_at   BIGINT,
    last_reply_seq  BIGINT,
    -- NULL for plain messages; 'open', 'finished' or 'interrupted' for streams.
    stream             TEXT,
    stream_updated_at  BIGINT,
    -- Full-text search: the 'simple' configuration folds case and keeps every
    -- word (no stemming, no stop words), as the SQLite backend's FTS5 does.
    search_words    TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED,
    UNIQUE (channel_id, seq),
    UNIQUE (author_id, client_msg_id)
);
CREATE INDEX messages_top_level ON messages(channel_id, seq) WHERE thread_id IS NULL;
CREATE INDEX messages_by_thread ON messages(thread_id, seq) WHERE thread_id IS NOT NULL;
CREATE INDEX messages_active_threads ON messages(channel_id, last_reply_seq)
    WHERE last_reply_seq IS NOT NULL;
CREATE INDEX messages_open_streams ON messages(stream_updated_at) WHERE stream = 'open';
CREATE INDEX messages_search ON messages USING GIN (search_words);

CREATE TABLE reactions (
    pos           BIGINT GENERATED ALWAYS AS IDENTITY,
    message_id    TEXT NOT NULL REFERENCES messages(id),
    principal_id  TEXT NOT NULL REFERENCES principals(id),
    emoji         TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (message_id, principal_id, emoji)
);

-- One row per agent woken by an event; the event itself stays in `events`.
CREATE TABLE triggers (
    id          TEXT PRIMARY KEY,
    agent_id    TEXT NOT NULL REFERENCES principals(id),
    channel_id  TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    message_id  TEXT NOT NULL REFERENCES messages(id),
    thread_id   TEXT REFERENCES messages(id),
    reason      TEXT NOT NULL,
    hop         BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    FOREIGN KEY (channel_id, seq) REFERENCES events(channel_id, seq),
    UNIQUE (agent_id, channel_id, seq)
);

CREATE TABLE secrets (
    name        TEXT PRIMARY KEY,
    value       BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE webhooks (
    agent_id    TEXT PRIMARY KEY REFERENCES principals(id),
    url         TEXT NOT NULL,
    secret      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- One row per (agent, event) to POST; retries update the row in place.
CREATE TABLE deliveries (
    pos              BIGINT GENERATED ALWAYS AS IDENTITY,
    id               TEXT PRIMARY KEY,
    agent_id         TEXT NOT NULL REFERENCES principals(id),
    event_id         TEXT NOT NULL,
    body             TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    last_error       TEXT,
    next_attempt_at  BIGINT,
    created_at       BIGINT NOT NULL,
    delivered_at     BIGINT,
    UNIQUE (agent_id, event_id)
);
CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_by_agent ON deliveries(agent_id, created_at);

CREATE TABLE files (
    pos           BIGINT GENERATED ALWAYS AS IDENTITY,
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    channel_id    TEXT NOT NULL REFERENCES channels(id),
    uploader_id   TEXT NOT NULL REFERENCES principals(id),
    name          TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    message_id    TEXT REFERENCES messages(id),
    created_at    BIGINT NOT NULL
);
CREATE INDEX files_by_channel ON files(channel_id, created_at);
CREATE INDEX files_by_message ON files(message_id) WHERE message_id IS NOT NULL;

CREATE TABLE audit (
    pos          BIGINT GENERATED ALWAYS AS IDENTITY,
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(id),
    actor_id     TEXT NOT NULL REFERENCES principals(id),
    action       TEXT NOT NULL,
    target_kind  TEXT NOT NULL,
    target_id    TEXT NOT NULL,
    before       TEXT,
    after        TEXT,
    at           BIGINT NOT NULL
);
CREATE INDEX audit_by_org ON audit(org_id, at);
