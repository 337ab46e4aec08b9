//! Bearer tokens, stored by the SHA-256 of their secret.

use crate::db::{self, Db};
use crate::error::Res;
use crate::principals;
use crate::rows::{self, TOKEN_COLS, ms};
use octo_core::model::*;
use octo_core::*;
use octo_store::{NewToken, StoreError, Timestamp, now};

pub(crate) async fn create(c: &impl Db, t: NewToken) -> Res<TokenInfo> {
    db::execute(
        c,
        "INSERT INTO tokens (id, principal_id, secret_hash, label, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &t.id.as_str(),
            &t.principal_id.as_str(),
            &t.secret_hash,
            &t.label,
            &ms(t.created_at),
            &t.expires_at.map(ms),
        ],
    )
    .await?;
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

pub(crate) async fn find(c: &impl Db, secret_hash: &[u8]) -> Res<Option<(TokenInfo, Principal)>> {
    let sql = format!("SELECT {TOKEN_COLS} FROM tokens WHERE secret_hash = $1");
    let Some(token) = db::query_opt_map(c, &sql, &[&secret_hash], rows::token).await? else {
        return Ok(None);
    };
    let principal = principals::get(c, &token.principal_id)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(Some((token, principal)))
}

pub(crate) async fn list(c: &impl Db, principal: &PrincipalId) -> Res<Vec<TokenInfo>> {
    let sql = format!("SELECT {TOKEN_COLS} FROM tokens WHERE principal_id = $1 ORDER BY pos");
    db::query_map(c, &sql, &[&principal.as_str()], rows::token).await
}

pub(crate) async fn revoke(c: &impl Db, principal: &PrincipalId, token: &TokenId) -> Res<bool> {
    let changed = db::execute(
        c,
        "UPDATE tokens SET revoked_at = $3 WHERE id = $1 AND principal_id = $2 AND revoked_at IS NULL",
        &[&token.as_str(), &principal.as_str(), &ms(now())],
    )
    .await?;
    Ok(changed > 0)
}

pub(crate) async fn touch(c: &impl Db, token: &TokenId, at: Timestamp) -> Res<()> {
    let changed = db::execute(
        c,
        "UPDATE tokens SET last_used_at = $2 WHERE id = $1",
        &[&token.as_str(), &ms(at)],
    )
    .await?;
    if changed == 0 {
        return Err(StoreError::NotFound.into());
    }
    Ok(())
}
