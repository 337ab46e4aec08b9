-- Agent webhooks and their delivery outbox.

-- At most one webhook per agent; removing it keeps the agent's deliveries.
CREATE TABLE webhooks (
    agent_id    TEXT PRIMARY KEY REFERENCES principals(id),
    url         TEXT NOT NULL,
    secret      TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

-- One row per (agent, event) to POST; retries update the row in place.
CREATE TABLE deliveries (
    id               TEXT PRIMARY KEY,
    agent_id         TEXT NOT NULL REFERENCES principals(id),
    event_id         TEXT NOT NULL,
    body             TEXT NOT NULL,
    -- 'pending', 'delivered' or 'dead'.
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    -- Set exactly while pending: when the next attempt is due.
    next_attempt_at  INTEGER,
    created_at       INTEGER NOT NULL,
    delivered_at     INTEGER,
    UNIQUE (agent_id, event_id)
) STRICT;
-- The sender's queue: only pending rows, by when they are due.
CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_by_agent ON deliveries(agent_id, created_at);
