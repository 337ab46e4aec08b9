//! Schema migrations: numbered SQL files, applied in order, each in its own
//! transaction, with progress kept in `PRAGMA user_version`.

use crate::error::{Res, corrupt};
use rusqlite::Connection;

/// Every migration, in order; migration `i` brings the schema to version `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_acked_seq.sql"),
    include_str!("../migrations/0003_agents.sql"),
    include_str!("../migrations/0004_webhooks.sql"),
    include_str!("../migrations/0005_search_files_audit.sql"),
    include_str!("../migrations/0006_groupmd.sql"),
    include_str!("../migrations/0007_leases.sql"),
    include_str!("../migrations/0008_groupmd_review.sql"),
    include_str!("../migrations/0009_search_catch_up.sql"),
    include_str!("../migrations/0010_seq_from_the_log.sql"),
];

pub(crate) fn migrate(conn: &mut Connection) -> Res<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let current =
        usize::try_from(current).map_err(|_| corrupt("schema version", &current.to_string()))?;
    if current > MIGRATIONS.len() {
        return Err(corrupt(
            "schema version (written by a newer Octo?)",
            &current.to_string(),
        ));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "applied a schema migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows;

    /// A database written before the agents migration reads back with its
    /// defaults filled in, and its messages are indexed for search.
    #[test]
    fn old_rows_get_the_agent_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("t.db")).unwrap();
        for sql in &MIGRATIONS[..2] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 2).unwrap();
        conn.execute_batch(
            "INSERT INTO orgs VALUES ('o', 'Acme', 0);
             INSERT INTO principals (id, org_id, kind, name, name_key, role, created_at)
                 VALUES ('p', 'o', 'agent', 'bot', 'bot', 'agent', 0);
             INSERT INTO channels (id, org_id, kind, name, private, last_seq, created_by, created_at)
                 VALUES ('c', 'o', 'channel', 'general', 0, 1, 'p', 0);
             INSERT INTO messages (id, channel_id, seq, author_id, text, mentions, hop, created_at)
                 VALUES ('m', 'c', 1, 'p', 'hi', '', 0, 0);",
        )
        .unwrap();
        let mentions = serde_json::to_string(&octo_core::model::Mentions::default()).unwrap();
        conn.execute("UPDATE messages SET mentions = ?1", [mentions])
            .unwrap();
        migrate(&mut conn).unwrap();
        let p = conn
            .query_row(
                &format!("SELECT {} FROM principals", rows::PRINCIPAL_COLS),
                [],
                rows::principal,
            )
            .unwrap();
        assert!(p.skills.is_empty());
        assert_eq!(p.avatar_url, None);
        let c = conn
            .query_row(
                &format!("SELECT {} FROM channels", rows::CHANNEL_COLS),
                [],
                rows::channel,
            )
            .unwrap();
        assert_eq!(c.agent_hop_limit, octo_store::DEFAULT_AGENT_HOP_LIMIT);
        assert_eq!(
            c.agent_triggers_per_minute,
            octo_store::DEFAULT_AGENT_TRIGGERS_PER_MINUTE
        );
        let m = conn
            .query_row(
                &format!("SELECT {} FROM messages", rows::MESSAGE_COLS),
                [],
                rows::message,
            )
            .unwrap();
        assert_eq!(m.stream, None);
        // Messages written before search existed are found by it.
        let found: String = conn
            .query_row(
                "SELECT m.id FROM message_search JOIN messages m ON m.rowid = message_search.rowid \
                 WHERE message_search MATCH '\"hi\"'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(found, "m");
        // Migrating again is a no-op.
        migrate(&mut conn).unwrap();
    }

    /// A channel's seq, once kept in its row, continues from its log after
    /// the migration that dropped the copy.
    #[test]
    fn seqs_continue_from_the_log_after_the_copy_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("t.db")).unwrap();
        for sql in &MIGRATIONS[..9] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 9).unwrap();
        conn.execute_batch(
            "INSERT INTO orgs VALUES ('o', 'Acme', 0);
             INSERT INTO principals (id, org_id, kind, name, name_key, role, created_at)
                 VALUES ('p', 'o', 'human', 'ann', 'ann', 'owner', 0);
             INSERT INTO channels (id, org_id, kind, name, private, last_seq, created_by, created_at)
                 VALUES ('c', 'o', 'channel', 'general', 0, 3, 'p', 0),
                        ('empty', 'o', 'channel', 'quiet', 0, 0, 'p', 0);
             INSERT INTO events (channel_id, seq, id, kind, actor_id, at, payload) VALUES
                 ('c', 1, 'e1', 'member.joined', 'p', 0, '{}'),
                 ('c', 2, 'e2', 'member.joined', 'p', 0, '{}'),
                 ('c', 3, 'e3', 'member.joined', 'p', 0, '{}');",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let last_seqs: Vec<(String, u64)> = conn
            .prepare(&format!(
                "SELECT {} FROM channels ORDER BY id",
                rows::CHANNEL_COLS
            ))
            .unwrap()
            .query_map([], rows::channel)
            .unwrap()
            .map(|c| {
                let c = c.unwrap();
                (c.id.as_str().to_owned(), c.last_seq)
            })
            .collect();
        assert_eq!(last_seqs, vec![("c".into(), 3), ("empty".into(), 0)]);
        let c = octo_core::ChannelId::from_string("c");
        assert_eq!(crate::events::next_seq(&conn, &c).unwrap(), 4);
        let missing = octo_core::ChannelId::from_string("missing");
        assert!(crate::events::next_seq(&conn, &missing).is_err());
    }
}
