//! Channels, DMs and group DMs: creation (with the first members' events),
//! lookup and renaming.

use crate::error::Res;
use crate::events;
use crate::members;
use crate::principals::name_key;
use crate::rows::{self, CHANNEL_COLS, ms};
use crate::spaces;
use octo_core::model::*;
use octo_core::*;
use octo_store::{
    ChannelPatch, Created, DEFAULT_AGENT_HOP_LIMIT, DEFAULT_AGENT_TRIGGERS_PER_MINUTE, NewChannel,
    StoreError, payload,
};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashSet;

/// How a member is woken unless it says otherwise: in a DM every message is
/// for it; in a channel only mentions are.
pub(crate) fn default_trigger(kind: ChannelKind) -> TriggerPolicy {
    match kind {
        ChannelKind::Channel => TriggerPolicy::Mention,
        ChannelKind::Dm | ChannelKind::GroupDm => TriggerPolicy::All,
    }
}

/// Only named channels must be unique (per space); DMs are named by members.
fn unique_name(kind: ChannelKind, name: Option<&str>) -> Option<String> {
    match (kind, name) {
        (ChannelKind::Channel, Some(n)) => Some(name_key(n)),
        _ => None,
    }
}

fn ensure_name_free(
    conn: &Connection,
    org: &OrgId,
    space: Option<&SpaceId>,
    key: &str,
    name: &str,
    except: Option<&ChannelId>,
) -> Res<()> {
    let taken: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM channels WHERE org_id = ?1 AND coalesce(space_id, '') = coalesce(?2, '') \
         AND name_key = ?3 AND id IS NOT ?4)",
        params![org.as_str(), space.map(|s| s.as_str()), key, except.map(|c| c.as_str())],
        |r| r.get(0),
    )?;
    if taken {
        return Err(StoreError::Conflict(format!(
            "a channel named '{name}' already exists in this space"
        ))
        .into());
    }
    Ok(())
}

pub(crate) fn create(conn: &Connection, c: NewChannel) -> Res<Created<Channel>> {
    if let Some(dm_key) = &c.dm_key {
        let sql = format!("SELECT {CHANNEL_COLS} FROM channels WHERE org_id = ?1 AND dm_key = ?2");
        let existing = conn
            .query_row(&sql, params![c.org_id.as_str(), dm_key], rows::channel)
            .optional()?;
        if let Some(value) = existing {
            return Ok(Created {
                value,
                created: false,
            });
        }
    }
    let key = unique_name(c.kind, c.name.as_deref());
    if let (Some(key), Some(name)) = (&key, &c.name) {
        ensure_name_free(conn, &c.org_id, c.space_id.as_ref(), key, name, None)?;
    }
    if let Some(category) = &c.category_id {
        let in_space = spaces::get_category(conn, category)?
            .is_some_and(|cat| Some(&cat.space_id) == c.space_id.as_ref());
        if !in_space {
            return Err(StoreError::NotFound.into());
        }
    }
    conn.execute(
        "INSERT INTO channels (id, org_id, space_id, category_id, kind, name, name_key, topic, private, \
         created_by, created_at, dm_key, agent_hop_limit, agent_triggers_per_minute) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            c.id.as_str(),
            c.org_id.as_str(),
            c.space_id.as_ref().map(|s| s.as_str()),
            c.category_id.as_ref().map(|s| s.as_str()),
            c.kind.as_str(),
            c.name,
            key,
            c.topic,
            c.private,
            c.created_by.as_str(),
            ms(c.created_at),
            c.dm_key,
            DEFAULT_AGENT_HOP_LIMIT,
            DEFAULT_AGENT_TRIGGERS_PER_MINUTE,
        ],
    )?;
    let trigger = default_trigger(c.kind);
    let mut seen = HashSet::new();
    for member in c.members.iter().filter(|m| seen.insert(*m)) {
        members::join(conn, &c.id, member, trigger, &c.created_by, c.created_at)?;
    }
    let value = get(conn, &c.id)?.ok_or(StoreError::NotFound)?;
    Ok(Created {
        value,
        created: true,
    })
}

pub(crate) fn get(conn: &Connection, id: &ChannelId) -> Res<Option<Channel>> {
    let sql = format!("SELECT {CHANNEL_COLS} FROM channels WHERE id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id.as_str()], rows::channel)
        .optional()?)
}

pub(crate) fn list(conn: &Connection, org: &OrgId) -> Res<Vec<Channel>> {
    let sql = format!("SELECT {CHANNEL_COLS} FROM channels WHERE org_id = ?1 ORDER BY rowid");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([org.as_str()], rows::channel)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn update(
    conn: &Connection,
    id: &ChannelId,
    actor: &PrincipalId,
    patch: ChannelPatch,
) -> Res<(Channel, Event)> {
    let mut channel = get(conn, id)?.ok_or(StoreError::NotFound)?;
    if let Some(name) = patch.name {
        let key = unique_name(channel.kind, Some(&name));
        if let Some(key) = &key {
            ensure_name_free(
                conn,
                &channel.org_id,
                channel.space_id.as_ref(),
                key,
                &name,
                Some(id),
            )?;
        }
        conn.execute(
            "UPDATE channels SET name = ?2, name_key = ?3 WHERE id = ?1",
            params![id.as_str(), name, key],
        )?;
        channel.name = Some(name);
    }
    if let Some(topic) = patch.topic {
        conn.execute(
            "UPDATE channels SET topic = ?2 WHERE id = ?1",
            params![id.as_str(), topic],
        )?;
        channel.topic = topic;
    }
    if let Some(limit) = patch.agent_hop_limit {
        conn.execute(
            "UPDATE channels SET agent_hop_limit = ?2 WHERE id = ?1",
            params![id.as_str(), limit],
        )?;
        channel.agent_hop_limit = limit;
    }
    if let Some(rate) = patch.agent_triggers_per_minute {
        conn.execute(
            "UPDATE channels SET agent_triggers_per_minute = ?2 WHERE id = ?1",
            params![id.as_str(), rate],
        )?;
        channel.agent_triggers_per_minute = rate;
    }
    let event = events::append(
        conn,
        id,
        EventKind::ChannelUpdated,
        actor,
        payload::channel_updated(&channel),
    )?;
    channel.last_seq = event.seq;
    Ok((channel, event))
}
