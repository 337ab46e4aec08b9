//! Permission overrides on spaces, categories and channels.

use crate::error::Res;
use crate::rows::{self, OVERRIDE_COLS};
use octo_core::*;
use octo_store::{ResourceRef, StoreError};
use rusqlite::{Connection, params};

fn resource_exists(conn: &Connection, resource: &ResourceRef) -> Res<bool> {
    // The table name comes from a fixed set, never from input.
    let table = match resource {
        ResourceRef::Space(_) => "spaces",
        ResourceRef::Category(_) => "categories",
        ResourceRef::Channel(_) => "channels",
    };
    let sql = format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE id = ?1)");
    Ok(conn.query_row(&sql, [resource.id()], |r| r.get(0))?)
}

fn effect_str(e: Effect) -> &'static str {
    match e {
        Effect::Allow => "allow",
        Effect::Deny => "deny",
    }
}

/// Replaces the resource's overrides; they read back in the order given.
pub(crate) fn set(conn: &Connection, resource: &ResourceRef, overrides: Vec<Override>) -> Res<()> {
    if !resource_exists(conn, resource)? {
        return Err(StoreError::NotFound.into());
    }
    conn.execute(
        "DELETE FROM overrides WHERE resource_kind = ?1 AND resource_id = ?2",
        params![resource.kind(), resource.id()],
    )?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO overrides (resource_kind, resource_id, target_kind, target_id, action, effect) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for o in &overrides {
        let (target_kind, target_id) = match &o.target {
            OverrideTarget::Role(r) => ("role", r.as_str()),
            OverrideTarget::Principal(p) => ("principal", p.as_str()),
        };
        insert.execute(params![
            resource.kind(),
            resource.id(),
            target_kind,
            target_id,
            o.action.as_str(),
            effect_str(o.effect),
        ])?;
    }
    Ok(())
}

pub(crate) fn get(conn: &Connection, resource: &ResourceRef) -> Res<Vec<Override>> {
    let sql = format!(
        "SELECT {OVERRIDE_COLS} FROM overrides WHERE resource_kind = ?1 AND resource_id = ?2 ORDER BY rowid"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![resource.kind(), resource.id()], rows::override_)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every override of the org's spaces, categories and channels, in one query.
pub(crate) fn list_in_org(conn: &Connection, org: &OrgId) -> Res<Vec<(ResourceRef, Override)>> {
    let sql = format!(
        "SELECT o.resource_kind, o.resource_id, {cols} FROM overrides o \
         WHERE (o.resource_kind = 'space' AND o.resource_id IN (SELECT id FROM spaces WHERE org_id = ?1)) \
            OR (o.resource_kind = 'category' AND o.resource_id IN \
                (SELECT c.id FROM categories c JOIN spaces s ON s.id = c.space_id WHERE s.org_id = ?1)) \
            OR (o.resource_kind = 'channel' AND o.resource_id IN (SELECT id FROM channels WHERE org_id = ?1)) \
         ORDER BY o.rowid",
        cols = OVERRIDE_COLS
            .split(", ")
            .map(|c| format!("o.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([org.as_str()], |r| {
        let kind: String = r.get(0)?;
        let id: String = r.get(1)?;
        let resource = match kind.as_str() {
            "space" => ResourceRef::Space(SpaceId::from_string(id)),
            "category" => ResourceRef::Category(CategoryId::from_string(id)),
            _ => ResourceRef::Channel(ChannelId::from_string(id)),
        };
        // The override columns follow the two resource columns.
        Ok((resource, rows::override_at(r, 2)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
