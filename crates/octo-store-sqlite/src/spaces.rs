//! Spaces, their members, and the categories inside them.

use crate::error::Res;
use crate::principals::name_key;
use crate::rows::{self, CATEGORY_COLS, SPACE_COLS, SPACE_MEMBER_COLS, ms};
use octo_core::model::*;
use octo_core::*;
use octo_store::{NewCategory, NewSpace, StoreError};
use rusqlite::{Connection, OptionalExtension, params};

pub(crate) fn create(conn: &Connection, s: NewSpace) -> Res<Space> {
    let key = name_key(&s.name);
    let taken: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM spaces WHERE org_id = ?1 AND name_key = ?2)",
        params![s.org_id.as_str(), key],
        |r| r.get(0),
    )?;
    if taken {
        return Err(
            StoreError::Conflict(format!("a space named '{}' already exists", s.name)).into(),
        );
    }
    conn.execute(
        "INSERT INTO spaces (id, org_id, name, name_key, visibility, created_by, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            s.id.as_str(),
            s.org_id.as_str(),
            s.name,
            key,
            s.visibility.as_str(),
            s.created_by.as_str(),
            ms(s.created_at),
        ],
    )?;
    put_member(conn, &s.id, &s.created_by, s.creator_role)?;
    Ok(Space {
        id: s.id,
        org_id: s.org_id,
        name: s.name,
        visibility: s.visibility,
        created_by: s.created_by,
        created_at: s.created_at,
    })
}

pub(crate) fn get(conn: &Connection, id: &SpaceId) -> Res<Option<Space>> {
    let sql = format!("SELECT {SPACE_COLS} FROM spaces WHERE id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id.as_str()], rows::space)
        .optional()?)
}

pub(crate) fn list(conn: &Connection, org: &OrgId) -> Res<Vec<Space>> {
    let sql = format!("SELECT {SPACE_COLS} FROM spaces WHERE org_id = ?1 ORDER BY rowid");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([org.as_str()], rows::space)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn put_member(
    conn: &Connection,
    space: &SpaceId,
    principal: &PrincipalId,
    role: Role,
) -> Res<SpaceMember> {
    conn.prepare_cached(
        "INSERT INTO space_members (space_id, principal_id, role) VALUES (?1, ?2, ?3) \
         ON CONFLICT (space_id, principal_id) DO UPDATE SET role = excluded.role",
    )?
    .execute(params![space.as_str(), principal.as_str(), role.as_str()])?;
    Ok(SpaceMember {
        space_id: space.clone(),
        principal_id: principal.clone(),
        role,
    })
}

pub(crate) fn remove_member(
    conn: &Connection,
    space: &SpaceId,
    principal: &PrincipalId,
) -> Res<bool> {
    let n = conn.execute(
        "DELETE FROM space_members WHERE space_id = ?1 AND principal_id = ?2",
        params![space.as_str(), principal.as_str()],
    )?;
    Ok(n > 0)
}

pub(crate) fn member_role(
    conn: &Connection,
    space: &SpaceId,
    principal: &PrincipalId,
) -> Res<Option<Role>> {
    let sql = format!(
        "SELECT {SPACE_MEMBER_COLS} FROM space_members WHERE space_id = ?1 AND principal_id = ?2"
    );
    let m = conn
        .prepare_cached(&sql)?
        .query_row(
            params![space.as_str(), principal.as_str()],
            rows::space_member,
        )
        .optional()?;
    Ok(m.map(|m| m.role))
}

pub(crate) fn roles_of(conn: &Connection, principal: &PrincipalId) -> Res<Vec<(SpaceId, Role)>> {
    let sql = format!(
        "SELECT {SPACE_MEMBER_COLS} FROM space_members WHERE principal_id = ?1 ORDER BY rowid"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([principal.as_str()], rows::space_member)?;
    Ok(rows
        .map(|m| m.map(|m| (m.space_id, m.role)))
        .collect::<Result<_, _>>()?)
}

pub(crate) fn list_members(conn: &Connection, space: &SpaceId) -> Res<Vec<SpaceMember>> {
    let sql =
        format!("SELECT {SPACE_MEMBER_COLS} FROM space_members WHERE space_id = ?1 ORDER BY rowid");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([space.as_str()], rows::space_member)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn create_category(conn: &Connection, c: NewCategory) -> Res<Category> {
    if get(conn, &c.space_id)?.is_none() {
        return Err(StoreError::NotFound.into());
    }
    let key = name_key(&c.name);
    let taken: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM categories WHERE space_id = ?1 AND name_key = ?2)",
        params![c.space_id.as_str(), key],
        |r| r.get(0),
    )?;
    if taken {
        return Err(StoreError::Conflict(format!(
            "a category named '{}' already exists in this space",
            c.name
        ))
        .into());
    }
    // New categories go last; position is their index in the space.
    let position: i64 = conn.query_row(
        "SELECT count(*) FROM categories WHERE space_id = ?1",
        [c.space_id.as_str()],
        |r| r.get(0),
    )?;
    conn.execute(
        "INSERT INTO categories (id, space_id, name, name_key, position, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![c.id.as_str(), c.space_id.as_str(), c.name, key, position, ms(c.created_at)],
    )?;
    Ok(Category {
        id: c.id,
        space_id: c.space_id,
        name: c.name,
        position,
        created_at: c.created_at,
    })
}

pub(crate) fn get_category(conn: &Connection, id: &CategoryId) -> Res<Option<Category>> {
    let sql = format!("SELECT {CATEGORY_COLS} FROM categories WHERE id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id.as_str()], rows::category)
        .optional()?)
}

pub(crate) fn list_categories(conn: &Connection, space: &SpaceId) -> Res<Vec<Category>> {
    let sql = format!(
        "SELECT {CATEGORY_COLS} FROM categories WHERE space_id = ?1 ORDER BY position, rowid"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([space.as_str()], rows::category)?;
    Ok(rows.collect::<Result<_, _>>()?)
}
