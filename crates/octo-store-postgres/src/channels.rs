//! Channels, DMs and group DMs: creation (with the first members' events),
//! lookup and renaming.

use crate::db::{self, Db};
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

async fn ensure_name_free(
    c: &impl Db,
    org: &OrgId,
    space: Option<&SpaceId>,
    key: &str,
    name: &str,
    except: Option<&ChannelId>,
) -> Res<()> {
    let taken: bool = db::query_one(
        c,
        "SELECT EXISTS (SELECT 1 FROM channels WHERE org_id = $1 AND coalesce(space_id, '') = coalesce($2, '') \
         AND name_key = $3 AND id IS DISTINCT FROM $4)",
        &[
            &org.as_str(),
            &space.map(|s| s.as_str()),
            &key,
            &except.map(|c| c.as_str()),
        ],
    )
    .await?
    .try_get(0)?;
    if taken {
        return Err(StoreError::Conflict(format!(
            "a channel named '{name}' already exists in this space"
        ))
        .into());
    }
    Ok(())
}

async fn find_dm(c: &impl Db, org: &OrgId, dm_key: &str) -> Res<Option<Channel>> {
    let sql = format!("SELECT {CHANNEL_COLS} FROM channels WHERE org_id = $1 AND dm_key = $2");
    db::query_opt_map(c, &sql, &[&org.as_str(), &dm_key], rows::channel).await
}

pub(crate) async fn create(c: &impl Db, ch: NewChannel) -> Res<Created<Channel>> {
    if let Some(dm_key) = &ch.dm_key {
        // Two nodes opening the same DM at once: the second waits, then finds it.
        db::lock(c, &format!("octo-dm:{}:{dm_key}", ch.org_id.as_str())).await?;
        if let Some(value) = find_dm(c, &ch.org_id, dm_key).await? {
            return Ok(Created {
                value,
                created: false,
            });
        }
    }
    let key = unique_name(ch.kind, ch.name.as_deref());
    if let (Some(key), Some(name)) = (&key, &ch.name) {
        ensure_name_free(c, &ch.org_id, ch.space_id.as_ref(), key, name, None).await?;
    }
    if let Some(category) = &ch.category_id {
        let in_space = spaces::get_category(c, category)
            .await?
            .is_some_and(|cat| Some(&cat.space_id) == ch.space_id.as_ref());
        if !in_space {
            return Err(StoreError::NotFound.into());
        }
    }
    db::execute(
        c,
        "INSERT INTO channels (id, org_id, space_id, category_id, kind, name, name_key, topic, private, \
         created_by, created_at, dm_key, agent_hop_limit, agent_triggers_per_minute) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        &[
            &ch.id.as_str(),
            &ch.org_id.as_str(),
            &ch.space_id.as_ref().map(|s| s.as_str()),
            &ch.category_id.as_ref().map(|s| s.as_str()),
            &ch.kind.as_str(),
            &ch.name,
            &key,
            &ch.topic,
            &ch.private,
            &ch.created_by.as_str(),
            &ms(ch.created_at),
            &ch.dm_key,
            &i64::from(DEFAULT_AGENT_HOP_LIMIT),
            &i64::from(DEFAULT_AGENT_TRIGGERS_PER_MINUTE),
        ],
    )
    .await?;
    let trigger = default_trigger(ch.kind);
    let mut seen = HashSet::new();
    for member in ch.members.iter().filter(|m| seen.insert(*m)) {
        members::join(c, &ch.id, member, trigger, &ch.created_by, ch.created_at).await?;
    }
    let value = get(c, &ch.id).await?.ok_or(StoreError::NotFound)?;
    Ok(Created {
        value,
        created: true,
    })
}

pub(crate) async fn get(c: &impl Db, id: &ChannelId) -> Res<Option<Channel>> {
    let sql = format!("SELECT {CHANNEL_COLS} FROM channels WHERE id = $1");
    db::query_opt_map(c, &sql, &[&id.as_str()], rows::channel).await
}

pub(crate) async fn list(c: &impl Db, org: &OrgId) -> Res<Vec<Channel>> {
    let sql = format!("SELECT {CHANNEL_COLS} FROM channels WHERE org_id = $1 ORDER BY pos");
    db::query_map(c, &sql, &[&org.as_str()], rows::channel).await
}

pub(crate) async fn update(
    c: &impl Db,
    id: &ChannelId,
    actor: &PrincipalId,
    patch: ChannelPatch,
) -> Res<(Channel, Event)> {
    // Taking the seq first locks the channel row for the whole change.
    let seq = events::next_seq(c, id).await?;
    let mut channel = get(c, id).await?.ok_or(StoreError::NotFound)?;
    if let Some(name) = patch.name {
        let key = unique_name(channel.kind, Some(&name));
        if let Some(key) = &key {
            ensure_name_free(
                c,
                &channel.org_id,
                channel.space_id.as_ref(),
                key,
                &name,
                Some(id),
            )
            .await?;
        }
        db::execute(
            c,
            "UPDATE channels SET name = $2, name_key = $3 WHERE id = $1",
            &[&id.as_str(), &name, &key],
        )
        .await?;
        channel.name = Some(name);
    }
    if let Some(topic) = patch.topic {
        db::execute(
            c,
            "UPDATE channels SET topic = $2 WHERE id = $1",
            &[&id.as_str(), &topic],
        )
        .await?;
        channel.topic = topic;
    }
    if let Some(limit) = patch.agent_hop_limit {
        db::execute(
            c,
            "UPDATE channels SET agent_hop_limit = $2 WHERE id = $1",
            &[&id.as_str(), &i64::from(limit)],
        )
        .await?;
        channel.agent_hop_limit = limit;
    }
    if let Some(rate) = patch.agent_triggers_per_minute {
        db::execute(
            c,
            "UPDATE channels SET agent_triggers_per_minute = $2 WHERE id = $1",
            &[&id.as_str(), &i64::from(rate)],
        )
        .await?;
        channel.agent_triggers_per_minute = rate;
    }
    let event = events::append_at(
        c,
        id,
        seq,
        EventKind::ChannelUpdated,
        actor,
        payload::channel_updated(&channel),
    )
    .await?;
    Ok((channel, event))
}
