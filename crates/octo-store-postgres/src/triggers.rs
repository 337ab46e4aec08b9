//! Agents woken by events: recorded once per (agent, channel, seq) by the node
//! that saw the write, read back with the events that caused them.

use crate::db::{self, Db};
use crate::error::Res;
use crate::rows::{self, TRIGGER_COLS, ms, seq_param};
use octo_core::trigger::Trigger;
use octo_core::*;

/// Inserts the triggers; one already recorded for the same agent and event is
/// left as it was (a retry, or a second node seeing the same write). No
/// conflict target: a retry may collide on the id as well as on the event.
pub(crate) async fn record(c: &impl Db, triggers: Vec<Trigger>) -> Res<()> {
    for t in triggers {
        db::execute(
            c,
            "INSERT INTO triggers (id, agent_id, channel_id, seq, message_id, thread_id, reason, hop, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
            &[
                &t.id,
                &t.agent_id.as_str(),
                &t.channel_id.as_str(),
                &seq_param(t.seq),
                &t.message_id.as_str(),
                &t.thread_id.as_ref().map(|m| m.as_str()),
                &t.reason.as_str(),
                &i64::from(t.hop),
                &ms(t.created_at),
            ],
        )
        .await?;
    }
    Ok(())
}

fn trigger_and_event(r: &tokio_postgres::Row) -> Res<(Trigger, Event)> {
    Ok((rows::trigger(r)?, rows::event_at(r, 9)?))
}

pub(crate) async fn list(
    c: &impl Db,
    agent: &PrincipalId,
    channel: &ChannelId,
    after: u64,
    limit: u32,
) -> Res<Vec<(Trigger, Event)>> {
    // The event's columns in `EVENT_COLS` order, right after the trigger's.
    let sql = format!(
        "SELECT {TRIGGER_COLS}, e.id, e.channel_id, e.seq, e.kind, e.at, e.actor_id, e.payload \
         FROM triggers t JOIN events e ON e.channel_id = t.channel_id AND e.seq = t.seq \
         WHERE t.agent_id = $1 AND t.channel_id = $2 AND t.seq > $3 ORDER BY t.seq LIMIT $4"
    );
    db::query_map(
        c,
        &sql,
        &[
            &agent.as_str(),
            &channel.as_str(),
            &seq_param(after),
            &i64::from(limit),
        ],
        trigger_and_event,
    )
    .await
}
