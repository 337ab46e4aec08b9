//! Humans and agents: one table, one shape.

use crate::error::Res;
use crate::rows::{self, PRINCIPAL_COLS, ms};
use octo_core::model::*;
use octo_core::*;
use octo_store::{NewPrincipal, ProfilePatch, StoreError};
use rusqlite::{Connection, OptionalExtension, params};

/// The case-insensitive form names are compared in.
pub(crate) fn name_key(name: &str) -> String {
    name.to_lowercase()
}

pub(crate) fn create(conn: &Connection, p: NewPrincipal) -> Res<Principal> {
    let key = name_key(&p.name);
    let name_taken: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM principals WHERE org_id = ?1 AND name_key = ?2)",
        params![p.org_id.as_str(), key],
        |r| r.get(0),
    )?;
    if name_taken {
        return Err(StoreError::Conflict(format!("the name '{}' is already taken", p.name)).into());
    }
    if let Some(email) = &p.email {
        let email_taken: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM principals WHERE email = ?1)",
            [email],
            |r| r.get(0),
        )?;
        if email_taken {
            return Err(
                StoreError::Conflict(format!("the email '{email}' is already in use")).into(),
            );
        }
    }
    conn.execute(
        "INSERT INTO principals (id, org_id, kind, name, name_key, display_name, email, password_hash, role, \
         owner_id, description, created_at, skills, avatar_url) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            p.id.as_str(),
            p.org_id.as_str(),
            p.kind.as_str(),
            p.name,
            key,
            p.display_name,
            p.email,
            p.password_hash,
            p.role.as_str(),
            p.owner_id.as_ref().map(|o| o.as_str()),
            p.description,
            ms(p.created_at),
            serde_json::to_string(&p.skills)?,
            p.avatar_url,
        ],
    )?;
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

pub(crate) fn get(conn: &Connection, id: &PrincipalId) -> Res<Option<Principal>> {
    let sql = format!("SELECT {PRINCIPAL_COLS} FROM principals WHERE id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id.as_str()], rows::principal)
        .optional()?)
}

pub(crate) fn find_login(conn: &Connection, email: &str) -> Res<Option<(Principal, String)>> {
    let sql = format!("SELECT {PRINCIPAL_COLS}, password_hash FROM principals WHERE email = ?1");
    let found = conn
        .query_row(&sql, [email], |r| {
            Ok((rows::principal(r)?, r.get::<_, Option<String>>(13)?))
        })
        .optional()?;
    // A principal without a password (an agent) cannot log in.
    Ok(found.and_then(|(p, hash)| hash.map(|h| (p, h))))
}

pub(crate) fn find_by_names(
    conn: &Connection,
    org: &OrgId,
    names: &[String],
) -> Res<Vec<Principal>> {
    let keys: Vec<String> = names.iter().map(|n| name_key(n)).collect();
    let sql = format!(
        "SELECT {PRINCIPAL_COLS} FROM principals WHERE org_id = ?1 \
         AND name_key IN (SELECT value FROM json_each(?2)) ORDER BY rowid"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![org.as_str(), serde_json::to_string(&keys)?],
        rows::principal,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn list(conn: &Connection, org: &OrgId) -> Res<Vec<Principal>> {
    let sql = format!("SELECT {PRINCIPAL_COLS} FROM principals WHERE org_id = ?1 ORDER BY rowid");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([org.as_str()], rows::principal)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Applies the patch to the stored profile; NotFound if there is no such principal.
pub(crate) fn update_profile(
    conn: &Connection,
    id: &PrincipalId,
    patch: ProfilePatch,
) -> Res<Principal> {
    let mut p = get(conn, id)?.ok_or(StoreError::NotFound)?;
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
    conn.execute(
        "UPDATE principals SET display_name = ?2, description = ?3, skills = ?4, avatar_url = ?5 WHERE id = ?1",
        params![
            id.as_str(),
            p.display_name,
            p.description,
            serde_json::to_string(&p.skills)?,
            p.avatar_url,
        ],
    )?;
    Ok(p)
}

/// Changes the principal's org role; NotFound if there is no such principal.
pub(crate) fn set_role(conn: &Connection, id: &PrincipalId, role: Role) -> Res<Principal> {
    let changed = conn
        .prepare_cached("UPDATE principals SET role = ?2 WHERE id = ?1")?
        .execute(params![id.as_str(), role.as_str()])?;
    if changed == 0 {
        return Err(StoreError::NotFound.into());
    }
    get(conn, id)?.ok_or_else(|| StoreError::NotFound.into())
}
