-- Leases: work done once per cluster (the webhook sender, …) is done by the
-- node holding its lease until `expires_at` (Unix ms, by the database's
-- clock, so node clocks don't matter).
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
