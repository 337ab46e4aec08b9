//! First run: the org and its owner.

use crate::db::{self, Db};
use crate::error::Res;
use crate::principals;
use crate::rows::{self, ORG_COLS, ms};
use octo_core::model::*;
use octo_core::*;
use octo_store::{NewOrg, NewPrincipal, StoreError};

/// The advisory lock makes concurrent first setups (from any node) take turns,
/// so the "no org yet" check and the insert cannot race.
pub(crate) async fn setup(c: &impl Db, org: NewOrg, owner: NewPrincipal) -> Res<(Org, Principal)> {
    db::lock(c, "octo-setup").await?;
    if is_set_up(c).await? {
        return Err(StoreError::AlreadySetUp.into());
    }
    db::execute(
        c,
        "INSERT INTO orgs (id, name, created_at) VALUES ($1, $2, $3)",
        &[&org.id.as_str(), &org.name, &ms(org.created_at)],
    )
    .await?;
    let owner = principals::create(c, owner).await?;
    let org = Org {
        id: org.id,
        name: org.name,
        created_at: org.created_at,
    };
    Ok((org, owner))
}

pub(crate) async fn is_set_up(c: &impl Db) -> Res<bool> {
    Ok(db::query_one(c, "SELECT EXISTS (SELECT 1 FROM orgs)", &[])
        .await?
        .try_get(0)?)
}

pub(crate) async fn list(c: &impl Db) -> Res<Vec<Org>> {
    let sql = format!("SELECT {ORG_COLS} FROM orgs ORDER BY created_at, id");
    db::query_map(c, &sql, &[], rows::org).await
}

pub(crate) async fn get(c: &impl Db, id: &OrgId) -> Res<Option<Org>> {
    let sql = format!("SELECT {ORG_COLS} FROM orgs WHERE id = $1");
    db::query_opt_map(c, &sql, &[&id.as_str()], rows::org).await
}
