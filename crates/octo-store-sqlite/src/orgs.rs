//! First run: the org and its owner.

use crate::error::Res;
use crate::principals;
use crate::rows::{self, ORG_COLS, ms};
use octo_core::model::*;
use octo_core::*;
use octo_store::{NewOrg, NewPrincipal, StoreError};
use rusqlite::{Connection, OptionalExtension, params};

/// Runs on the writer, so the "no org yet" check and the insert cannot race.
pub(crate) fn setup(conn: &Connection, org: NewOrg, owner: NewPrincipal) -> Res<(Org, Principal)> {
    if is_set_up(conn)? {
        return Err(StoreError::AlreadySetUp.into());
    }
    conn.execute(
        "INSERT INTO orgs (id, name, created_at) VALUES (?1, ?2, ?3)",
        params![org.id.as_str(), org.name, ms(org.created_at)],
    )?;
    let owner = principals::create(conn, owner)?;
    let org = Org {
        id: org.id,
        name: org.name,
        created_at: org.created_at,
    };
    Ok((org, owner))
}

pub(crate) fn is_set_up(conn: &Connection) -> Res<bool> {
    Ok(conn.query_row("SELECT EXISTS (SELECT 1 FROM orgs)", [], |r| r.get(0))?)
}

pub(crate) fn list(conn: &Connection) -> Res<Vec<Org>> {
    let sql = format!("SELECT {ORG_COLS} FROM orgs ORDER BY created_at, id");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([], rows::org)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn get(conn: &Connection, id: &OrgId) -> Res<Option<Org>> {
    let sql = format!("SELECT {ORG_COLS} FROM orgs WHERE id = ?1");
    Ok(conn.query_row(&sql, [id.as_str()], rows::org).optional()?)
}
