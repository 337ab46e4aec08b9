//! Secrets the deployment makes for itself, created once and then shared by
//! every node through the database.

use crate::db::{self, Db};
use crate::error::{Res, corrupt};
use crate::rows::ms;
use octo_store::now;
use rand::RngCore;

const DEPLOYMENT: &str = "deployment";
const LEN: usize = 32;

/// The deployment secret if it exists yet.
pub(crate) async fn get(c: &impl Db) -> Res<Option<Vec<u8>>> {
    let row = db::query_opt(
        c,
        "SELECT value FROM secrets WHERE name = $1",
        &[&DEPLOYMENT],
    )
    .await?;
    let value: Option<Vec<u8>> = row.map(|r| r.try_get(0)).transpose()?;
    match value {
        Some(v) if v.len() != LEN => Err(corrupt("deployment secret length", &v.len().to_string())),
        other => Ok(other),
    }
}

/// Creates the secret unless it exists. Of two concurrent first calls (on any
/// nodes) one insert wins; the other waits for it, does nothing, and reads
/// the winner's secret.
pub(crate) async fn get_or_create(c: &impl Db) -> Res<Vec<u8>> {
    let mut secret = vec![0u8; LEN];
    rand::rng().fill_bytes(&mut secret);
    db::execute(
        c,
        "INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
        &[&DEPLOYMENT, &secret, &ms(now())],
    )
    .await?;
    get(c)
        .await?
        .ok_or_else(|| corrupt("deployment secret", "missing right after its insert"))
}
