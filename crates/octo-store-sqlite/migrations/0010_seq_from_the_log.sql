-- A channel's last seq is read from its log (the events table's primary key
-- ends on it) instead of being kept in the channel's row: bumping that row was
-- one more page written, and one more statement, for every event appended.
-- Every seq ever handed out has its event, in the same transaction, so
-- nothing is lost by dropping the copy.
ALTER TABLE channels DROP COLUMN last_seq;
