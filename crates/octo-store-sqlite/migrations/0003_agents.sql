-- Agents: profiles, per-channel loop guard, streaming messages, recorded
-- triggers and the deployment's own secret.

ALTER TABLE principals ADD COLUMN skills TEXT NOT NULL DEFAULT '[]';
ALTER TABLE principals ADD COLUMN avatar_url TEXT;

ALTER TABLE channels ADD COLUMN agent_hop_limit INTEGER NOT NULL DEFAULT 4;
ALTER TABLE channels ADD COLUMN agent_triggers_per_minute INTEGER NOT NULL DEFAULT 30;

-- NULL for plain messages; 'open', 'finished' or 'interrupted' for streams.
ALTER TABLE messages ADD COLUMN stream TEXT;
-- When the stream last grew: finds streams whose writer went quiet.
ALTER TABLE messages ADD COLUMN stream_updated_at INTEGER;
CREATE INDEX messages_open_streams ON messages(stream_updated_at) WHERE stream = 'open';

-- One row per agent woken by an event; the event itself stays in `events`.
CREATE TABLE triggers (
    id          TEXT PRIMARY KEY,
    agent_id    TEXT NOT NULL REFERENCES principals(id),
    channel_id  TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    message_id  TEXT NOT NULL REFERENCES messages(id),
    thread_id   TEXT REFERENCES messages(id),
    reason      TEXT NOT NULL,
    hop         INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    FOREIGN KEY (channel_id, seq) REFERENCES events(channel_id, seq),
    UNIQUE (agent_id, channel_id, seq)
) STRICT;

CREATE TABLE secrets (
    name        TEXT PRIMARY KEY,
    value       BLOB NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;
