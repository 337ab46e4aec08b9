//! Reactions: one row per (message, principal, emoji), shown aggregated.

use crate::db::{self, Db};
use crate::error::Res;
use crate::events;
use crate::messages;
use crate::rows::ms;
use octo_core::model::*;
use octo_core::*;
use octo_store::{now, payload};

/// The message's reactions per emoji, emojis in order of their earliest
/// standing reaction, principals in the order they reacted.
pub(crate) async fn load(c: &impl Db, message: &MessageId) -> Res<Vec<Reaction>> {
    let rows = db::query(
        c,
        "SELECT emoji, principal_id FROM reactions WHERE message_id = $1 ORDER BY pos",
        &[&message.as_str()],
    )
    .await?;
    let mut out: Vec<Reaction> = Vec::new();
    for row in rows {
        let emoji: String = row.try_get(0)?;
        let principal = PrincipalId::from_string(row.try_get::<_, String>(1)?);
        match out.iter_mut().find(|r| r.emoji == emoji) {
            Some(r) => {
                r.count += 1;
                r.principal_ids.push(principal);
            }
            None => out.push(Reaction {
                emoji,
                count: 1,
                principal_ids: vec![principal],
            }),
        }
    }
    Ok(out)
}

pub(crate) async fn add(
    c: &impl Db,
    id: &MessageId,
    principal: &PrincipalId,
    emoji: &str,
) -> Res<Option<Event>> {
    let message = messages::lock_live(c, id).await?;
    let added = db::execute(
        c,
        "INSERT INTO reactions (message_id, principal_id, emoji, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (message_id, principal_id, emoji) DO NOTHING",
        &[&id.as_str(), &principal.as_str(), &emoji, &ms(now())],
    )
    .await?;
    if added == 0 {
        return Ok(None);
    }
    let event = events::append(
        c,
        &message.channel_id,
        EventKind::ReactionAdded,
        principal,
        payload::reaction(id, &message.author_id, principal, emoji),
    )
    .await?;
    Ok(Some(event))
}

pub(crate) async fn remove(
    c: &impl Db,
    id: &MessageId,
    principal: &PrincipalId,
    emoji: &str,
) -> Res<Option<Event>> {
    let message = messages::lock_bare(c, id).await?;
    let removed = db::execute(
        c,
        "DELETE FROM reactions WHERE message_id = $1 AND principal_id = $2 AND emoji = $3",
        &[&id.as_str(), &principal.as_str(), &emoji],
    )
    .await?;
    if removed == 0 {
        return Ok(None);
    }
    let event = events::append(
        c,
        &message.channel_id,
        EventKind::ReactionRemoved,
        principal,
        payload::reaction(id, &message.author_id, principal, emoji),
    )
    .await?;
    Ok(Some(event))
}
