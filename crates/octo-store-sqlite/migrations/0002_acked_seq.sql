-- The delivery cursor: the last seq a member's clients acknowledged. It starts
-- where the read cursor starts (the member's own join event).
ALTER TABLE channel_members ADD COLUMN acked_seq INTEGER NOT NULL DEFAULT 0;
UPDATE channel_members SET acked_seq = read_seq;
