//! Spaces, their members, and the categories inside them.

use crate::db::{self, Db};
use crate::error::Res;
use crate::principals::name_key;
use crate::rows::{self, CATEGORY_COLS, SPACE_COLS, SPACE_MEMBER_COLS, ms};
use octo_core::model::*;
use octo_core::*;
use octo_store::{NewCategory, NewSpace, StoreError};

pub(crate) async fn create(c: &impl Db, s: NewSpace) -> Res<Space> {
    let key = name_key(&s.name);
    let taken: bool = db::query_one(
        c,
        "SELECT EXISTS (SELECT 1 FROM spaces WHERE org_id = $1 AND name_key = $2)",
        &[&s.org_id.as_str(), &key],
    )
    .await?
    .try_get(0)?;
    if taken {
        return Err(
            StoreError::Conflict(format!("a space named '{}' already exists", s.name)).into(),
        );
    }
    db::execute(
        c,
        "INSERT INTO spaces (id, org_id, name, name_key, visibility, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &s.id.as_str(),
            &s.org_id.as_str(),
            &s.name,
            &key,
            &s.visibility.as_str(),
            &s.created_by.as_str(),
            &ms(s.created_at),
        ],
    )
    .await?;
    put_member(c, &s.id, &s.created_by, s.creator_role).await?;
    Ok(Space {
        id: s.id,
        org_id: s.org_id,
        name: s.name,
        visibility: s.visibility,
        created_by: s.created_by,
        created_at: s.created_at,
    })
}

pub(crate) async fn get(c: &impl Db, id: &SpaceId) -> Res<Option<Space>> {
    let sql = format!("SELECT {SPACE_COLS} FROM spaces WHERE id = $1");
    db::query_opt_map(c, &sql, &[&id.as_str()], rows::space).await
}

pub(crate) async fn list(c: &impl Db, org: &OrgId) -> Res<Vec<Space>> {
    let sql = format!("SELECT {SPACE_COLS} FROM spaces WHERE org_id = $1 ORDER BY pos");
    db::query_map(c, &sql, &[&org.as_str()], rows::space).await
}

pub(crate) async fn put_member(
    c: &impl Db,
    space: &SpaceId,
    principal: &PrincipalId,
    role: Role,
) -> Res<SpaceMember> {
    db::execute(
        c,
        "INSERT INTO space_members (space_id, principal_id, role) VALUES ($1, $2, $3) \
         ON CONFLICT (space_id, principal_id) DO UPDATE SET role = excluded.role",
        &[&space.as_str(), &principal.as_str(), &role.as_str()],
    )
    .await?;
    Ok(SpaceMember {
        space_id: space.clone(),
        principal_id: principal.clone(),
        role,
    })
}

pub(crate) async fn remove_member(
    c: &impl Db,
    space: &SpaceId,
    principal: &PrincipalId,
) -> Res<bool> {
    let n = db::execute(
        c,
        "DELETE FROM space_members WHERE space_id = $1 AND principal_id = $2",
        &[&space.as_str(), &principal.as_str()],
    )
    .await?;
    Ok(n > 0)
}

pub(crate) async fn member_role(
    c: &impl Db,
    space: &SpaceId,
    principal: &PrincipalId,
) -> Res<Option<Role>> {
    let sql = format!(
        "SELECT {SPACE_MEMBER_COLS} FROM space_members WHERE space_id = $1 AND principal_id = $2"
    );
    let m = db::query_opt_map(
        c,
        &sql,
        &[&space.as_str(), &principal.as_str()],
        rows::space_member,
    )
    .await?;
    Ok(m.map(|m| m.role))
}

pub(crate) async fn roles_of(c: &impl Db, principal: &PrincipalId) -> Res<Vec<(SpaceId, Role)>> {
    let sql = format!(
        "SELECT {SPACE_MEMBER_COLS} FROM space_members WHERE principal_id = $1 ORDER BY pos"
    );
    let members = db::query_map(c, &sql, &[&principal.as_str()], rows::space_member).await?;
    Ok(members.into_iter().map(|m| (m.space_id, m.role)).collect())
}

pub(crate) async fn list_members(c: &impl Db, space: &SpaceId) -> Res<Vec<SpaceMember>> {
    let sql =
        format!("SELECT {SPACE_MEMBER_COLS} FROM space_members WHERE space_id = $1 ORDER BY pos");
    db::query_map(c, &sql, &[&space.as_str()], rows::space_member).await
}

pub(crate) async fn create_category(c: &impl Db, cat: NewCategory) -> Res<Category> {
    // Locking the space serialises category creation in it, so positions
    // (the count so far) stay distinct.
    let space_found = db::query_opt(
        c,
        "SELECT 1 FROM spaces WHERE id = $1 FOR UPDATE",
        &[&cat.space_id.as_str()],
    )
    .await?;
    if space_found.is_none() {
        return Err(StoreError::NotFound.into());
    }
    let key = name_key(&cat.name);
    let taken: bool = db::query_one(
        c,
        "SELECT EXISTS (SELECT 1 FROM categories WHERE space_id = $1 AND name_key = $2)",
        &[&cat.space_id.as_str(), &key],
    )
    .await?
    .try_get(0)?;
    if taken {
        return Err(StoreError::Conflict(format!(
            "a category named '{}' already exists in this space",
            cat.name
        ))
        .into());
    }
    // New categories go last; position is their index in the space.
    let position: i64 = db::query_one(
        c,
        "SELECT count(*) FROM categories WHERE space_id = $1",
        &[&cat.space_id.as_str()],
    )
    .await?
    .try_get(0)?;
    db::execute(
        c,
        "INSERT INTO categories (id, space_id, name, name_key, position, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &cat.id.as_str(),
            &cat.space_id.as_str(),
            &cat.name,
            &key,
            &position,
            &ms(cat.created_at),
        ],
    )
    .await?;
    Ok(Category {
        id: cat.id,
        space_id: cat.space_id,
        name: cat.name,
        position,
        created_at: cat.created_at,
    })
}

pub(crate) async fn get_category(c: &impl Db, id: &CategoryId) -> Res<Option<Category>> {
    let sql = format!("SELECT {CATEGORY_COLS} FROM categories WHERE id = $1");
    db::query_opt_map(c, &sql, &[&id.as_str()], rows::category).await
}

pub(crate) async fn list_categories(c: &impl Db, space: &SpaceId) -> Res<Vec<Category>> {
    let sql = format!(
        "SELECT {CATEGORY_COLS} FROM categories WHERE space_id = $1 ORDER BY position, pos"
    );
    db::query_map(c, &sql, &[&space.as_str()], rows::category).await
}
