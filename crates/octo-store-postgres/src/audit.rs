//! The audit log: administrative changes per org, append-only.

use crate::db::{self, Db};
use crate::error::Res;
use crate::rows::{self, AUDIT_COLS, ms};
use octo_core::model::*;
use octo_core::*;
use octo_store::AuditFilter;

pub(crate) async fn append(c: &impl Db, e: AuditEntry) -> Res<()> {
    db::execute(
        c,
        "INSERT INTO audit (id, org_id, actor_id, action, target_kind, target_id, before, after, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &e.id,
            &e.org_id.as_str(),
            &e.actor_id.as_str(),
            &e.action,
            &e.target_kind,
            &e.target_id,
            &e.before.as_ref().map(serde_json::to_string).transpose()?,
            &e.after.as_ref().map(serde_json::to_string).transpose()?,
            &ms(e.at),
        ],
    )
    .await?;
    Ok(())
}

/// The org's entries matching every filter given, newest first; `before` and
/// `after` are exclusive bounds on `at`. Absent filters are NULL parameters,
/// so the statement is one and cached.
pub(crate) async fn list(c: &impl Db, org: &OrgId, filter: AuditFilter) -> Res<Vec<AuditEntry>> {
    let sql = format!(
        "SELECT {AUDIT_COLS} FROM audit WHERE org_id = $1 \
         AND ($2::text IS NULL OR actor_id = $2) AND ($3::text IS NULL OR action = $3) \
         AND ($4::text IS NULL OR target_id = $4) AND ($5::bigint IS NULL OR at < $5) \
         AND ($6::bigint IS NULL OR at > $6) ORDER BY at DESC, pos DESC LIMIT $7"
    );
    db::query_map(
        c,
        &sql,
        &[
            &org.as_str(),
            &filter.actor.map(String::from),
            &filter.action,
            &filter.target_id,
            &filter.before.map(ms),
            &filter.after.map(ms),
            &i64::from(filter.limit),
        ],
        rows::audit,
    )
    .await
}
