-- Leases: work done once per deployment (the webhook sender, …) is done by
-- whoever holds its lease until `expires_at` (Unix ms).
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;
