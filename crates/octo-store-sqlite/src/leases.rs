//! Leases: who does the deployment's once-only work (see `Store::claim_lease`).
//! One node owns an SQLite file, so its own clock decides expiry.

use crate::error::Res;
use crate::rows::ms;
use octo_store::now;
use rusqlite::{Connection, OptionalExtension, params};
use std::time::Duration;

/// Takes the lease if it is free, expired or already `holder`'s, in one
/// statement: the conflict clause only overwrites a row it may take.
pub(crate) fn claim(conn: &Connection, name: &str, holder: &str, ttl: Duration) -> Res<bool> {
    let at = ms(now());
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    let taken: Option<String> = conn
        .prepare_cached(
            "INSERT INTO leases (name, holder, expires_at) VALUES (?1, ?2, ?3 + ?4) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.holder = excluded.holder OR leases.expires_at <= ?3 \
             RETURNING holder",
        )?
        .query_row(params![name, holder, at, ttl_ms], |r| r.get(0))
        .optional()?;
    Ok(taken.is_some())
}

pub(crate) fn release(conn: &Connection, name: &str, holder: &str) -> Res<()> {
    conn.prepare_cached("DELETE FROM leases WHERE name = ?1 AND holder = ?2")?
        .execute(params![name, holder])?;
    Ok(())
}
