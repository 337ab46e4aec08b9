//! Query helpers over a connection or a transaction: every statement is
//! prepared once per connection and cached.

use crate::error::Res;
pub(crate) use deadpool_postgres::GenericClient as Db;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

pub(crate) async fn query(c: &impl Db, sql: &str, params: Params<'_>) -> Res<Vec<Row>> {
    let stmt = c.prepare_cached(sql).await?;
    Ok(c.query(&stmt, params).await?)
}

pub(crate) async fn query_opt(c: &impl Db, sql: &str, params: Params<'_>) -> Res<Option<Row>> {
    let stmt = c.prepare_cached(sql).await?;
    Ok(c.query_opt(&stmt, params).await?)
}

pub(crate) async fn query_one(c: &impl Db, sql: &str, params: Params<'_>) -> Res<Row> {
    let stmt = c.prepare_cached(sql).await?;
    Ok(c.query_one(&stmt, params).await?)
}

pub(crate) async fn execute(c: &impl Db, sql: &str, params: Params<'_>) -> Res<u64> {
    let stmt = c.prepare_cached(sql).await?;
    Ok(c.execute(&stmt, params).await?)
}

/// Rows mapped with `f`.
pub(crate) async fn query_map<T>(
    c: &impl Db,
    sql: &str,
    params: Params<'_>,
    f: fn(&Row) -> Res<T>,
) -> Res<Vec<T>> {
    query(c, sql, params).await?.iter().map(f).collect()
}

/// At most one row, mapped with `f`.
pub(crate) async fn query_opt_map<T>(
    c: &impl Db,
    sql: &str,
    params: Params<'_>,
    f: fn(&Row) -> Res<T>,
) -> Res<Option<T>> {
    query_opt(c, sql, params).await?.as_ref().map(f).transpose()
}

/// Holds a transaction-scoped advisory lock on `key` until commit: the
/// PostgreSQL stand-in for "runs on the single writer" where a check and the
/// insert it guards must not race.
pub(crate) async fn lock(c: &impl Db, key: &str) -> Res<()> {
    execute(c, LOCK, &[&key]).await?;
    Ok(())
}

/// The statement of [`lock`].
pub(crate) const LOCK: &str = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))";

/// The outcome of statements sent together, in the order they are listed: the
/// first real failure, not the "transaction is aborted" the later ones get
/// because of it (which of them the server ran first is not fixed).
pub(crate) fn first_failure(results: impl IntoIterator<Item = Res<()>>) -> Res<()> {
    let mut aborted = None;
    for result in results {
        match result {
            Ok(()) => {}
            Err(e) if e.is_aborted_transaction() => {
                aborted.get_or_insert(e);
            }
            Err(e) => return Err(e),
        }
    }
    aborted.map_or(Ok(()), Err)
}
