//! Schema migrations: numbered SQL files, applied in order, each in its own
//! transaction, with progress kept in `PRAGMA user_version`.

use crate::error::{Res, corrupt};
use rusqlite::Connection;

/// Every migration, in order; migration `i` brings the schema to version `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_acked_seq.sql"),
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
