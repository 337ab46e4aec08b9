//! Reactions: one row per (message, principal, emoji), shown aggregated.

use crate::error::Res;
use crate::events;
use crate::messages;
use crate::rows::ms;
use octo_core::model::*;
use octo_core::*;
use octo_store::{StoreError, now, payload};
use rusqlite::{Connection, params};

/// The message's reactions per emoji, emojis in order of their earliest
/// standing reaction, principals in the order they reacted.
pub(crate) fn load(conn: &Connection, message: &MessageId) -> Res<Vec<Reaction>> {
    // rowid follows insertion order among the rows that still exist.
    let mut stmt = conn.prepare_cached(
        "SELECT emoji, principal_id FROM reactions WHERE message_id = ?1 ORDER BY rowid",
    )?;
    let rows = stmt.query_map([message.as_str()], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out: Vec<Reaction> = Vec::new();
    for row in rows {
        let (emoji, principal) = row?;
        push(&mut out, emoji, principal);
    }
    Ok(out)
}

fn push(out: &mut Vec<Reaction>, emoji: String, principal: String) {
    let principal = PrincipalId::from_string(principal);
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

/// [`load`] for many messages in one query; `ids` is a JSON array of ids.
pub(crate) fn load_many(
    conn: &Connection,
    ids: &str,
) -> Res<std::collections::HashMap<String, Vec<Reaction>>> {
    let mut stmt = conn.prepare_cached(
        "SELECT message_id, emoji, principal_id FROM reactions \
         WHERE message_id IN (SELECT value FROM json_each(?1)) ORDER BY rowid",
    )?;
    let rows = stmt.query_map([ids], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut out: std::collections::HashMap<String, Vec<Reaction>> = Default::default();
    for row in rows {
        let (message, emoji, principal) = row?;
        push(out.entry(message).or_default(), emoji, principal);
    }
    Ok(out)
}

pub(crate) fn add(
    conn: &Connection,
    id: &MessageId,
    principal: &PrincipalId,
    emoji: &str,
) -> Res<Option<Event>> {
    let message = messages::live(conn, id)?;
    let added = conn.execute(
        "INSERT INTO reactions (message_id, principal_id, emoji, created_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (message_id, principal_id, emoji) DO NOTHING",
        params![id.as_str(), principal.as_str(), emoji, ms(now())],
    )?;
    if added == 0 {
        return Ok(None);
    }
    let event = events::append(
        conn,
        &message.channel_id,
        EventKind::ReactionAdded,
        principal,
        payload::reaction(id, &message.author_id, principal, emoji),
    )?;
    Ok(Some(event))
}

pub(crate) fn remove(
    conn: &Connection,
    id: &MessageId,
    principal: &PrincipalId,
    emoji: &str,
) -> Res<Option<Event>> {
    let message = messages::get_bare(conn, id)?.ok_or(StoreError::NotFound)?;
    let removed = conn.execute(
        "DELETE FROM reactions WHERE message_id = ?1 AND principal_id = ?2 AND emoji = ?3",
        params![id.as_str(), principal.as_str(), emoji],
    )?;
    if removed == 0 {
        return Ok(None);
    }
    let event = events::append(
        conn,
        &message.channel_id,
        EventKind::ReactionRemoved,
        principal,
        payload::reaction(id, &message.author_id, principal, emoji),
    )?;
    Ok(Some(event))
}
