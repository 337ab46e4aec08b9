//! Secrets the deployment makes for itself, created once and then shared by
//! every node through the database.

use crate::error::{Res, corrupt};
use crate::rows::ms;
use octo_store::now;
use rand::RngCore;
use rusqlite::{Connection, OptionalExtension, params};

const DEPLOYMENT: &str = "deployment";
const LEN: usize = 32;

/// The deployment secret if it exists yet.
pub(crate) fn get(conn: &Connection) -> Res<Option<Vec<u8>>> {
    let value: Option<Vec<u8>> = conn
        .prepare_cached("SELECT value FROM secrets WHERE name = ?1")?
        .query_row([DEPLOYMENT], |r| r.get(0))
        .optional()?;
    match value {
        Some(v) if v.len() != LEN => Err(corrupt("deployment secret length", &v.len().to_string())),
        other => Ok(other),
    }
}

/// Creates the secret unless it exists. Runs on the writer, so of two
/// concurrent first calls the second finds what the first made.
pub(crate) fn get_or_create(conn: &Connection) -> Res<Vec<u8>> {
    if let Some(secret) = get(conn)? {
        return Ok(secret);
    }
    let mut secret = vec![0u8; LEN];
    rand::rng().fill_bytes(&mut secret);
    conn.execute(
        "INSERT INTO secrets (name, value, created_at) VALUES (?1, ?2, ?3)",
        params![DEPLOYMENT, secret, ms(now())],
    )?;
    Ok(secret)
}
