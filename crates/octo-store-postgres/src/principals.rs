//! Humans and agents: one table, one shape.

use crate::db::{self, Db};
use crate::error::Res;
use crate::rows::{self, PRINCIPAL_COLS, ms};
use octo_core::model::*;
use octo_core::*;
use octo_store::{NewPrincipal, ProfilePatch, StoreError};

/// The case-insensitive form names are compared in.
pub(crate) fn name_key(name: &str) -> String {
    name.to_lowercase()
}

async fn exists(c: &impl Db, sql: &str, params: db::Params<'_>) -> Res<bool> {
    Ok(db::query_one(c, sql, params).await?.try_get(0)?)
}

/// The checks give clear messages; the unique constraints catch what a
/// concurrent transaction slips in between check and insert.
pub(crate) async fn create(c: &impl Db, p: NewPrincipal) -> Res<Principal> {
    let key = name_key(&p.name);
    let name_taken = exists(
        c,
        "SELECT EXISTS (SELECT 1 FROM principals WHERE org_id = $1 AND name_key = $2)",
        &[&p.org_id.as_str(), &key],
    )
    .await?;
    if name_taken {
        return Err(StoreError::Conflict(format!("the name '{}' is already taken", p.name)).into());
    }
    if let Some(email) = &p.email {
        let email_taken = exists(
            c,
            "SELECT EXISTS (SELECT 1 FROM principals WHERE email = $1)",
            &[email],
        )
        .await?;
        if email_taken {
            return Err(
                StoreError::Conflict(format!("the email '{email}' is already in use")).into(),
            );
        }
    }
    db::execute(
        c,
        "INSERT INTO principals (id, org_id, kind, name, name_key, display_name, email, password_hash, role, \
         owner_id, description, created_at, skills, avatar_url) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        &[
            &p.id.as_str(),
            &p.org_id.as_str(),
            &p.kind.as_str(),
            &p.name,
            &key,
            &p.display_name,
            &p.email,
            &p.password_hash,
            &p.role.as_str(),
            &p.owner_id.as_ref().map(|o| o.as_str()),
            &p.description,
            &ms(p.created_at),
            &serde_json::to_string(&p.skills)?,
            &p.avatar_url,
        ],
    )
    .await?;
    Ok(Principal {
        id: p.id,
        org_id: p.org_id,
        kind: p.kind,
        name: p.name,
        display_name: p.display_name,
        email: p.email,
        role: p.role,
        owner_id: p.owner_id,
        description: p.description,
        skills: p.skills,
        avatar_url: p.avatar_url,
        created_at: p.created_at,
        deactivated: false,
    })
}

pub(crate) async fn get(c: &impl Db, id: &PrincipalId) -> Res<Option<Principal>> {
    let sql = format!("SELECT {PRINCIPAL_COLS} FROM principals WHERE id = $1");
    db::query_opt_map(c, &sql, &[&id.as_str()], rows::principal).await
}

pub(crate) async fn find_login(c: &impl Db, email: &str) -> Res<Option<(Principal, String)>> {
    let sql = format!("SELECT {PRINCIPAL_COLS}, password_hash FROM principals WHERE email = $1");
    let Some(row) = db::query_opt(c, &sql, &[&email]).await? else {
        return Ok(None);
    };
    let principal = rows::principal(&row)?;
    // A principal without a password (an agent) cannot log in.
    let hash: Option<String> = row.try_get(13)?;
    Ok(hash.map(|h| (principal, h)))
}

pub(crate) async fn find_by_names(
    c: &impl Db,
    org: &OrgId,
    names: &[String],
) -> Res<Vec<Principal>> {
    let keys: Vec<String> = names.iter().map(|n| name_key(n)).collect();
    let sql = format!(
        "SELECT {PRINCIPAL_COLS} FROM principals WHERE org_id = $1 AND name_key = ANY($2) ORDER BY pos"
    );
    db::query_map(c, &sql, &[&org.as_str(), &keys], rows::principal).await
}

pub(crate) async fn list(c: &impl Db, org: &OrgId) -> Res<Vec<Principal>> {
    let sql = format!("SELECT {PRINCIPAL_COLS} FROM principals WHERE org_id = $1 ORDER BY pos");
    db::query_map(c, &sql, &[&org.as_str()], rows::principal).await
}

/// Applies the patch to the stored profile; NotFound if there is no such principal.
pub(crate) async fn update_profile(
    c: &impl Db,
    id: &PrincipalId,
    patch: ProfilePatch,
) -> Res<Principal> {
    let sql = format!("SELECT {PRINCIPAL_COLS} FROM principals WHERE id = $1 FOR UPDATE");
    let mut p = db::query_opt_map(c, &sql, &[&id.as_str()], rows::principal)
        .await?
        .ok_or(StoreError::NotFound)?;
    if let Some(display_name) = patch.display_name {
        p.display_name = display_name;
    }
    if let Some(description) = patch.description {
        p.description = description;
    }
    if let Some(skills) = patch.skills {
        p.skills = skills;
    }
    if let Some(avatar_url) = patch.avatar_url {
        p.avatar_url = avatar_url;
    }
    db::execute(
        c,
        "UPDATE principals SET display_name = $2, description = $3, skills = $4, avatar_url = $5 WHERE id = $1",
        &[
            &id.as_str(),
            &p.display_name,
            &p.description,
            &serde_json::to_string(&p.skills)?,
            &p.avatar_url,
        ],
    )
    .await?;
    Ok(p)
}

/// Changes the principal's org role; NotFound if there is no such principal.
pub(crate) async fn set_role(c: &impl Db, id: &PrincipalId, role: Role) -> Res<Principal> {
    let sql = format!("UPDATE principals SET role = $2 WHERE id = $1 RETURNING {PRINCIPAL_COLS}");
    db::query_opt_map(c, &sql, &[&id.as_str(), &role.as_str()], rows::principal)
        .await?
        .ok_or_else(|| StoreError::NotFound.into())
}
