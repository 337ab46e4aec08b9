//! Keeps the FTS5 index of message text current, in batches.
//!
//! FTS5 writes a new index segment at every commit (and savepoint release)
//! that changed it; a trigger indexing each message as it was posted cost one
//! segment per message, about a fifth of the writer's time. Instead the writer
//! indexes everything posted since the last time, in one statement, a few
//! times a second, and a search first catches up whatever is still pending,
//! so a message is found by any search that starts after its post returned.
//! Edits of rows already indexed still go through a trigger (migration 0009).

use crate::error::Res;
use rusqlite::Connection;
use std::time::Duration;

/// How often the writer catches the index up when there is something to do.
pub(crate) const EVERY: Duration = Duration::from_millis(200);

/// Messages posted but not yet in the index.
pub(crate) fn backlog(conn: &Connection) -> Res<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT (SELECT coalesce(max(rowid), 0) FROM messages) \
             - (SELECT indexed_through FROM search_progress WHERE id = 1)",
        )?
        .query_row([], |r| r.get(0))?)
}

/// Indexes every message posted since the last catch-up; returns how many.
/// Runs on the writer, inside a transaction.
pub(crate) fn catch_up(conn: &Connection) -> Res<usize> {
    let (from, through): (i64, i64) = conn
        .prepare_cached(
            "SELECT indexed_through, (SELECT coalesce(max(rowid), 0) FROM messages) \
             FROM search_progress WHERE id = 1",
        )?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    if through <= from {
        return Ok(0);
    }
    let indexed = conn
        .prepare_cached(
            "INSERT INTO message_search (rowid, text) \
             SELECT rowid, text FROM messages WHERE rowid > ?1 AND rowid <= ?2",
        )?
        .execute([from, through])?;
    conn.prepare_cached("UPDATE search_progress SET indexed_through = ?1 WHERE id = 1")?
        .execute([through])?;
    Ok(indexed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SqliteOptions, SqliteStore};

    const SETUP: &str = "INSERT INTO orgs VALUES ('o', 'Acme', 0);
         INSERT INTO principals (id, org_id, kind, name, name_key, role, created_at)
             VALUES ('p', 'o', 'human', 'ann', 'ann', 'owner', 0);
         INSERT INTO channels (id, org_id, kind, name, private, created_by, created_at)
             VALUES ('c', 'o', 'channel', 'general', 0, 'p', 0);";

    fn post(conn: &Connection, id: &str, seq: i64, text: &str) {
        conn.execute(
            "INSERT INTO messages (id, channel_id, seq, author_id, text, mentions, hop, created_at) \
             VALUES (?1, 'c', ?2, 'p', ?3, '{}', 0, 0)",
            rusqlite::params![id, seq, text],
        )
        .unwrap();
    }

    fn matching(conn: &Connection, word: &str) -> Vec<String> {
        let mut stmt = conn
            .prepare(
                "SELECT m.id FROM message_search JOIN messages m ON m.rowid = message_search.rowid \
                 WHERE message_search MATCH ?1 ORDER BY m.seq",
            )
            .unwrap();
        stmt.query_map([word], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn edits_before_and_after_the_catch_up_leave_only_the_current_text_indexed() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("t.db")).unwrap();
        crate::migrate::migrate(&mut conn).unwrap();
        conn.execute_batch(SETUP).unwrap();
        post(&conn, "a", 1, "deploy on friday");
        post(&conn, "b", 2, "lunch at noon");
        assert_eq!(backlog(&conn).unwrap(), 2);
        assert!(matching(&conn, "friday").is_empty(), "not indexed yet");
        // Edited before it was indexed: only the new text gets in.
        conn.execute(
            "UPDATE messages SET text = 'deploy on monday' WHERE id = 'a'",
            [],
        )
        .unwrap();
        assert_eq!(catch_up(&conn).unwrap(), 2);
        assert_eq!(backlog(&conn).unwrap(), 0);
        assert_eq!(catch_up(&conn).unwrap(), 0, "nothing twice");
        assert!(matching(&conn, "friday").is_empty());
        assert_eq!(matching(&conn, "monday"), ["a"]);
        // Edited after: the trigger swaps the indexed text.
        conn.execute(
            "UPDATE messages SET text = 'deploy on tuesday' WHERE id = 'a'",
            [],
        )
        .unwrap();
        assert!(matching(&conn, "monday").is_empty());
        assert_eq!(matching(&conn, "tuesday"), ["a"]);
        assert_eq!(matching(&conn, "noon"), ["b"]);
    }

    #[tokio::test]
    async fn the_writer_catches_up_on_its_own_without_a_search() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), SqliteOptions::default())
            .await
            .unwrap();
        store
            .write(|c| {
                c.execute_batch(SETUP)?;
                post(c, "a", 1, "standup moved");
                Ok(())
            })
            .await
            .unwrap();
        // Bounded: the writer catches up every EVERY; allow it fifty times that.
        let deadline = std::time::Instant::now() + EVERY * 50;
        while store.read(backlog).await.unwrap() > 0 && std::time::Instant::now() < deadline {
            tokio::time::sleep(EVERY / 4).await;
        }
        assert_eq!(store.read(backlog).await.unwrap(), 0);
        let found = store.read(|c| Ok(matching(c, "standup"))).await.unwrap();
        assert_eq!(found, ["a"]);
        store.close().await;
    }
}
