//! The audit log: administrative changes per org, append-only.

use crate::error::Res;
use crate::rows::{self, AUDIT_COLS, ms};
use octo_core::model::*;
use octo_core::*;
use octo_store::AuditFilter;
use rusqlite::types::Value;
use rusqlite::{Connection, params, params_from_iter};

pub(crate) fn append(conn: &Connection, e: AuditEntry) -> Res<()> {
    conn.prepare_cached(
        "INSERT INTO audit (id, org_id, actor_id, action, target_kind, target_id, before, after, at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        e.id,
        e.org_id.as_str(),
        e.actor_id.as_str(),
        e.action,
        e.target_kind,
        e.target_id,
        e.before.as_ref().map(serde_json::to_string).transpose()?,
        e.after.as_ref().map(serde_json::to_string).transpose()?,
        ms(e.at),
    ])?;
    Ok(())
}

/// The org's entries matching every filter given, newest first; `before` and
/// `after` are exclusive bounds on `at`.
pub(crate) fn list(conn: &Connection, org: &OrgId, filter: AuditFilter) -> Res<Vec<AuditEntry>> {
    let mut sql = format!("SELECT {AUDIT_COLS} FROM audit WHERE org_id = ?");
    let mut args = vec![Value::Text(org.as_str().to_owned())];
    let text_filters = [
        ("actor_id", filter.actor.map(String::from)),
        ("action", filter.action),
        ("target_id", filter.target_id),
    ];
    for (column, value) in text_filters {
        if let Some(value) = value {
            sql.push_str(&format!(" AND {column} = ?"));
            args.push(Value::Text(value));
        }
    }
    if let Some(before) = filter.before {
        sql.push_str(" AND at < ?");
        args.push(Value::Integer(ms(before)));
    }
    if let Some(after) = filter.after {
        sql.push_str(" AND at > ?");
        args.push(Value::Integer(ms(after)));
    }
    sql.push_str(" ORDER BY at DESC, rowid DESC LIMIT ?");
    args.push(Value::Integer(i64::from(filter.limit)));
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), rows::audit)?;
    Ok(rows.collect::<Result<_, _>>()?)
}
