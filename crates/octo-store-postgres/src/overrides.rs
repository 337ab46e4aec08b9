//! Permission overrides on spaces, categories and channels.

use crate::db::{self, Db};
use crate::error::Res;
use crate::rows::{self, OVERRIDE_COLS};
use octo_core::*;
use octo_store::{ResourceRef, StoreError};

/// Locks the resource row, so two replacements of its overrides take turns;
/// false if there is no such resource.
async fn lock_resource(c: &impl Db, resource: &ResourceRef) -> Res<bool> {
    // The table name comes from a fixed set, never from input.
    let table = match resource {
        ResourceRef::Space(_) => "spaces",
        ResourceRef::Category(_) => "categories",
        ResourceRef::Channel(_) => "channels",
    };
    let sql = format!("SELECT 1 FROM {table} WHERE id = $1 FOR UPDATE");
    Ok(db::query_opt(c, &sql, &[&resource.id()]).await?.is_some())
}

fn effect_str(e: Effect) -> &'static str {
    match e {
        Effect::Allow => "allow",
        Effect::Deny => "deny",
    }
}

/// Replaces the resource's overrides; they read back in the order given.
pub(crate) async fn set(c: &impl Db, resource: &ResourceRef, overrides: Vec<Override>) -> Res<()> {
    if !lock_resource(c, resource).await? {
        return Err(StoreError::NotFound.into());
    }
    db::execute(
        c,
        "DELETE FROM overrides WHERE resource_kind = $1 AND resource_id = $2",
        &[&resource.kind(), &resource.id()],
    )
    .await?;
    for o in &overrides {
        let (target_kind, target_id) = match &o.target {
            OverrideTarget::Role(r) => ("role", r.as_str()),
            OverrideTarget::Principal(p) => ("principal", p.as_str()),
        };
        db::execute(
            c,
            "INSERT INTO overrides (resource_kind, resource_id, target_kind, target_id, action, effect) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &resource.kind(),
                &resource.id(),
                &target_kind,
                &target_id,
                &o.action.as_str(),
                &effect_str(o.effect),
            ],
        )
        .await?;
    }
    Ok(())
}

pub(crate) async fn get(c: &impl Db, resource: &ResourceRef) -> Res<Vec<Override>> {
    let sql = format!(
        "SELECT {OVERRIDE_COLS} FROM overrides WHERE resource_kind = $1 AND resource_id = $2 ORDER BY pos"
    );
    db::query_map(
        c,
        &sql,
        &[&resource.kind(), &resource.id()],
        rows::override_,
    )
    .await
}

fn resource_and_override(r: &tokio_postgres::Row) -> Res<(ResourceRef, Override)> {
    let kind: &str = r.try_get(0)?;
    let id: String = r.try_get(1)?;
    let resource = match kind {
        "space" => ResourceRef::Space(SpaceId::from_string(id)),
        "category" => ResourceRef::Category(CategoryId::from_string(id)),
        _ => ResourceRef::Channel(ChannelId::from_string(id)),
    };
    // The override columns follow the two resource columns.
    Ok((resource, rows::override_at(r, 2)?))
}

/// Every override of the org's spaces, categories and channels, in one query.
pub(crate) async fn list_in_org(c: &impl Db, org: &OrgId) -> Res<Vec<(ResourceRef, Override)>> {
    let sql = format!(
        "SELECT o.resource_kind, o.resource_id, {cols} FROM overrides o \
         WHERE (o.resource_kind = 'space' AND o.resource_id IN (SELECT id FROM spaces WHERE org_id = $1)) \
            OR (o.resource_kind = 'category' AND o.resource_id IN \
                (SELECT c.id FROM categories c JOIN spaces s ON s.id = c.space_id WHERE s.org_id = $1)) \
            OR (o.resource_kind = 'channel' AND o.resource_id IN (SELECT id FROM channels WHERE org_id = $1)) \
         ORDER BY o.pos",
        cols = rows::prefixed("o", OVERRIDE_COLS)
    );
    db::query_map(c, &sql, &[&org.as_str()], resource_and_override).await
}
