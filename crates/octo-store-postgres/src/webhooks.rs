//! Where an agent's triggers are POSTed: at most one webhook per agent.

use crate::db::{self, Db};
use crate::error::Res;
use crate::rows::{self, WEBHOOK_COLS, ms};
use octo_core::*;
use octo_store::Webhook;

/// Replaces the agent's webhook, or with `None` removes it. The row is keyed by
/// `agent` (the record's own `agent_id` is not trusted to match). Removing
/// leaves the agent's deliveries in place, so they can still be listed.
pub(crate) async fn set(c: &impl Db, agent: &PrincipalId, webhook: Option<Webhook>) -> Res<()> {
    let Some(w) = webhook else {
        db::execute(
            c,
            "DELETE FROM webhooks WHERE agent_id = $1",
            &[&agent.as_str()],
        )
        .await?;
        return Ok(());
    };
    // An unknown agent fails the foreign key: NotFound.
    db::execute(
        c,
        "INSERT INTO webhooks (agent_id, url, secret, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (agent_id) DO UPDATE SET url = excluded.url, secret = excluded.secret, \
         created_at = excluded.created_at",
        &[&agent.as_str(), &w.url, &w.secret, &ms(w.created_at)],
    )
    .await?;
    Ok(())
}

pub(crate) async fn get(c: &impl Db, agent: &PrincipalId) -> Res<Option<Webhook>> {
    let sql = format!("SELECT {WEBHOOK_COLS} FROM webhooks WHERE agent_id = $1");
    db::query_opt_map(c, &sql, &[&agent.as_str()], rows::webhook).await
}
