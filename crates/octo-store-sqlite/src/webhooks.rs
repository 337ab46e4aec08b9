//! Where an agent's triggers are POSTed: at most one webhook per agent.

use crate::error::Res;
use crate::rows::{self, WEBHOOK_COLS, ms};
use octo_core::*;
use octo_store::Webhook;
use rusqlite::{Connection, OptionalExtension, params};

/// Replaces the agent's webhook, or with `None` removes it. The row is keyed by
/// `agent` (the record's own `agent_id` is not trusted to match). Removing
/// leaves the agent's deliveries in place, so they can still be listed.
pub(crate) fn set(conn: &Connection, agent: &PrincipalId, webhook: Option<Webhook>) -> Res<()> {
    let Some(w) = webhook else {
        conn.prepare_cached("DELETE FROM webhooks WHERE agent_id = ?1")?
            .execute([agent.as_str()])?;
        return Ok(());
    };
    // An unknown agent fails the foreign key: NotFound.
    conn.prepare_cached(
        "INSERT INTO webhooks (agent_id, url, secret, created_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (agent_id) DO UPDATE SET url = excluded.url, secret = excluded.secret, \
         created_at = excluded.created_at",
    )?
    .execute(params![agent.as_str(), w.url, w.secret, ms(w.created_at)])?;
    Ok(())
}

pub(crate) fn get(conn: &Connection, agent: &PrincipalId) -> Res<Option<Webhook>> {
    let sql = format!("SELECT {WEBHOOK_COLS} FROM webhooks WHERE agent_id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([agent.as_str()], rows::webhook)
        .optional()?)
}
