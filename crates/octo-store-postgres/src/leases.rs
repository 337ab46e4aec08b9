//! Leases: who does the cluster's once-only work (see `Store::claim_lease`).
//! Expiry is judged by the database's clock, the one clock every node shares.

use crate::db::{self, Db};
use crate::error::Res;
use std::time::Duration;

/// The database's time in Unix ms.
const NOW_MS: &str = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

/// Takes the lease if it is free, expired or already `holder`'s, in one
/// statement: the conflict clause only overwrites a row it may take, and the
/// row lock makes concurrent claims take turns.
pub(crate) async fn claim(c: &impl Db, name: &str, holder: &str, ttl: Duration) -> Res<bool> {
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    let sql = format!(
        "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, {NOW_MS} + $3) \
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
         WHERE leases.holder = excluded.holder OR leases.expires_at <= {NOW_MS} \
         RETURNING holder"
    );
    Ok(db::query_opt(c, &sql, &[&name, &holder, &ttl_ms])
        .await?
        .is_some())
}

pub(crate) async fn release(c: &impl Db, name: &str, holder: &str) -> Res<()> {
    db::execute(
        c,
        "DELETE FROM leases WHERE name = $1 AND holder = $2",
        &[&name, &holder],
    )
    .await?;
    Ok(())
}
