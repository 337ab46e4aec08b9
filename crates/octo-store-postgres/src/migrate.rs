//! Schema migrations: numbered SQL files applied in order, each in its own
//! transaction, recorded in `octo_migrations`. A session advisory lock makes
//! nodes that start at once take turns: the first migrates, the others find
//! the work done.

use crate::error::{Res, corrupt};

/// Every migration, in order; migration `i` brings the schema to version `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_leases.sql"),
    include_str!("../migrations/0003_groupmd.sql"),
    include_str!("../migrations/0004_groupmd_review.sql"),
];

pub(crate) async fn migrate(
    client: &mut deadpool_postgres::Client,
    schema: Option<&str>,
) -> Res<()> {
    // One lock per schema, so deployments sharing a database don't wait on
    // each other. Held by this session until unlocked (or the session ends).
    let key = format!("octo-migrate:{}", schema.unwrap_or("public"));
    client
        .execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", &[&key])
        .await?;
    let result = apply(client, schema).await;
    let unlocked = client
        .execute(
            "SELECT pg_advisory_unlock(hashtextextended($1, 0))",
            &[&key],
        )
        .await;
    result?;
    unlocked?;
    Ok(())
}

async fn apply(client: &mut deadpool_postgres::Client, schema: Option<&str>) -> Res<()> {
    if let Some(schema) = schema {
        // The name was checked to be a plain identifier.
        client
            .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .await?;
    }
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS octo_migrations (
                 version     BIGINT PRIMARY KEY,
                 applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
             )",
        )
        .await?;
    let current: i64 = client
        .query_one("SELECT coalesce(max(version), 0) FROM octo_migrations", &[])
        .await?
        .try_get(0)?;
    let current =
        usize::try_from(current).map_err(|_| corrupt("schema version", &current.to_string()))?;
    if current > MIGRATIONS.len() {
        return Err(corrupt(
            "schema version (written by a newer Octo?)",
            &current.to_string(),
        ));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let version = i64::try_from(i + 1).unwrap_or(i64::MAX);
        let tx = client.transaction().await?;
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO octo_migrations (version) VALUES ($1)",
            &[&version],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(version, "applied a PostgreSQL schema migration");
    }
    Ok(())
}
