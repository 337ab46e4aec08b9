//! Bearer tokens, stored by the SHA-256 of their secret.

use crate::error::Res;
use crate::principals;
use crate::rows::{self, TOKEN_COLS, ms};
use octo_core::model::*;
use octo_core::*;
use octo_store::{NewToken, StoreError, Timestamp, now};
use rusqlite::{Connection, OptionalExtension, params};

pub(crate) fn create(conn: &Connection, t: NewToken) -> Res<TokenInfo> {
    conn.execute(
        "INSERT INTO tokens (id, principal_id, secret_hash, label, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            t.id.as_str(),
            t.principal_id.as_str(),
            t.secret_hash,
            t.label,
            ms(t.created_at),
            t.expires_at.map(ms),
        ],
    )?;
    Ok(TokenInfo {
        id: t.id,
        principal_id: t.principal_id,
        label: t.label,
        created_at: t.created_at,
        expires_at: t.expires_at,
        last_used_at: None,
        revoked_at: None,
    })
}

pub(crate) fn find(conn: &Connection, secret_hash: &[u8]) -> Res<Option<(TokenInfo, Principal)>> {
    let sql = format!("SELECT {TOKEN_COLS} FROM tokens WHERE secret_hash = ?1");
    let Some(token) = conn
        .prepare_cached(&sql)?
        .query_row([secret_hash], rows::token)
        .optional()?
    else {
        return Ok(None);
    };
    let principal = principals::get(conn, &token.principal_id)?.ok_or(StoreError::NotFound)?;
    Ok(Some((token, principal)))
}

pub(crate) fn list(conn: &Connection, principal: &PrincipalId) -> Res<Vec<TokenInfo>> {
    let sql = format!("SELECT {TOKEN_COLS} FROM tokens WHERE principal_id = ?1 ORDER BY rowid");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([principal.as_str()], rows::token)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn revoke(conn: &Connection, principal: &PrincipalId, token: &TokenId) -> Res<bool> {
    let changed = conn.execute(
        "UPDATE tokens SET revoked_at = ?3 WHERE id = ?1 AND principal_id = ?2 AND revoked_at IS NULL",
        params![token.as_str(), principal.as_str(), ms(now())],
    )?;
    Ok(changed > 0)
}

pub(crate) fn touch(conn: &Connection, token: &TokenId, at: Timestamp) -> Res<()> {
    let changed = conn
        .prepare_cached("UPDATE tokens SET last_used_at = ?2 WHERE id = ?1")?
        .execute(params![token.as_str(), ms(at)])?;
    if changed == 0 {
        return Err(StoreError::NotFound.into());
    }
    Ok(())
}
