//! Row ↔ record mapping: the column lists each query selects and the functions
//! that turn those rows into `octo_core` records. Times are Unix milliseconds.

use crate::error::{Res, corrupt};
use chrono::{DateTime, Utc};
use octo_core::model::*;
use octo_core::trigger::{Trigger, TriggerReason};
use octo_core::*;
use octo_store::{Delivery, DeliveryStatus, Webhook};
use tokio_postgres::Row;

pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn seq_param(seq: u64) -> i64 {
    // Seqs never approach i64::MAX; saturating keeps a hostile cursor harmless.
    i64::try_from(seq).unwrap_or(i64::MAX)
}

fn time_of(v: i64) -> Res<DateTime<Utc>> {
    DateTime::from_timestamp_millis(v).ok_or_else(|| corrupt("time", &v.to_string()))
}

fn time(r: &Row, idx: usize) -> Res<DateTime<Utc>> {
    time_of(r.try_get(idx)?)
}

fn opt_time(r: &Row, idx: usize) -> Res<Option<DateTime<Utc>>> {
    r.try_get::<_, Option<i64>>(idx)?.map(time_of).transpose()
}

pub(crate) fn u64_at(r: &Row, idx: usize) -> Res<u64> {
    let v: i64 = r.try_get(idx)?;
    u64::try_from(v).map_err(|_| corrupt("negative number", &v.to_string()))
}

fn u32_at(r: &Row, idx: usize) -> Res<u32> {
    let v: i64 = r.try_get(idx)?;
    u32::try_from(v).map_err(|_| corrupt("out-of-range number", &v.to_string()))
}

fn parsed<T>(r: &Row, idx: usize, parse: fn(&str) -> Option<T>) -> Res<T> {
    let s: &str = r.try_get(idx)?;
    parse(s).ok_or_else(|| corrupt("value", s))
}

fn json<T: serde::de::DeserializeOwned>(r: &Row, idx: usize) -> Res<T> {
    let s: &str = r.try_get(idx)?;
    Ok(serde_json::from_str(s)?)
}

fn opt_json<T: serde::de::DeserializeOwned>(r: &Row, idx: usize) -> Res<Option<T>> {
    match r.try_get::<_, Option<&str>>(idx)? {
        None => Ok(None),
        Some(s) => Ok(Some(serde_json::from_str(s)?)),
    }
}

macro_rules! id_at {
    ($ty:ty, $r:expr, $idx:expr) => {
        <$ty>::from_string($r.try_get::<_, String>($idx)?)
    };
}

macro_rules! opt_id_at {
    ($ty:ty, $r:expr, $idx:expr) => {
        $r.try_get::<_, Option<String>>($idx)?
            .map(<$ty>::from_string)
    };
}

pub(crate) const ORG_COLS: &str = "id, name, created_at";

pub(crate) fn org(r: &Row) -> Res<Org> {
    Ok(Org {
        id: id_at!(OrgId, r, 0),
        name: r.try_get(1)?,
        created_at: time(r, 2)?,
    })
}

pub(crate) const PRINCIPAL_COLS: &str = "id, org_id, kind, name, display_name, email, role, owner_id, description, created_at, deactivated, \
     skills, avatar_url";

pub(crate) fn principal(r: &Row) -> Res<Principal> {
    Ok(Principal {
        id: id_at!(PrincipalId, r, 0),
        org_id: id_at!(OrgId, r, 1),
        kind: parsed(r, 2, PrincipalKind::parse)?,
        name: r.try_get(3)?,
        display_name: r.try_get(4)?,
        email: r.try_get(5)?,
        role: parsed(r, 6, Role::parse)?,
        owner_id: opt_id_at!(PrincipalId, r, 7),
        description: r.try_get(8)?,
        created_at: time(r, 9)?,
        deactivated: r.try_get(10)?,
        skills: json(r, 11)?,
        avatar_url: r.try_get(12)?,
    })
}

pub(crate) const TOKEN_COLS: &str =
    "id, principal_id, label, created_at, expires_at, last_used_at, revoked_at";

pub(crate) fn token(r: &Row) -> Res<TokenInfo> {
    Ok(TokenInfo {
        id: id_at!(TokenId, r, 0),
        principal_id: id_at!(PrincipalId, r, 1),
        label: r.try_get(2)?,
        created_at: time(r, 3)?,
        expires_at: opt_time(r, 4)?,
        last_used_at: opt_time(r, 5)?,
        revoked_at: opt_time(r, 6)?,
    })
}

pub(crate) const SPACE_COLS: &str = "id, org_id, name, visibility, created_by, created_at";

pub(crate) fn space(r: &Row) -> Res<Space> {
    Ok(Space {
        id: id_at!(SpaceId, r, 0),
        org_id: id_at!(OrgId, r, 1),
        name: r.try_get(2)?,
        visibility: parsed(r, 3, Visibility::parse)?,
        created_by: id_at!(PrincipalId, r, 4),
        created_at: time(r, 5)?,
    })
}

pub(crate) const SPACE_MEMBER_COLS: &str = "space_id, principal_id, role";

pub(crate) fn space_member(r: &Row) -> Res<SpaceMember> {
    Ok(SpaceMember {
        space_id: id_at!(SpaceId, r, 0),
        principal_id: id_at!(PrincipalId, r, 1),
        role: parsed(r, 2, Role::parse)?,
    })
}

pub(crate) const CATEGORY_COLS: &str = "id, space_id, name, position, created_at";

pub(crate) fn category(r: &Row) -> Res<Category> {
    Ok(Category {
        id: id_at!(CategoryId, r, 0),
        space_id: id_at!(SpaceId, r, 1),
        name: r.try_get(2)?,
        position: r.try_get(3)?,
        created_at: time(r, 4)?,
    })
}

pub(crate) const CHANNEL_COLS: &str = "id, org_id, space_id, category_id, kind, name, topic, private, last_seq, created_by, created_at, \
     agent_hop_limit, agent_triggers_per_minute";

pub(crate) fn channel(r: &Row) -> Res<Channel> {
    Ok(Channel {
        id: id_at!(ChannelId, r, 0),
        org_id: id_at!(OrgId, r, 1),
        space_id: opt_id_at!(SpaceId, r, 2),
        category_id: opt_id_at!(CategoryId, r, 3),
        kind: parsed(r, 4, ChannelKind::parse)?,
        name: r.try_get(5)?,
        topic: r.try_get(6)?,
        private: r.try_get(7)?,
        last_seq: u64_at(r, 8)?,
        created_by: id_at!(PrincipalId, r, 9),
        created_at: time(r, 10)?,
        agent_hop_limit: u32_at(r, 11)?,
        agent_triggers_per_minute: u32_at(r, 12)?,
    })
}

pub(crate) const MEMBER_COLS: &str =
    "channel_id, principal_id, trigger, read_seq, joined_at, acked_seq";

pub(crate) fn member(r: &Row) -> Res<ChannelMember> {
    Ok(ChannelMember {
        channel_id: id_at!(ChannelId, r, 0),
        principal_id: id_at!(PrincipalId, r, 1),
        trigger: parsed(r, 2, TriggerPolicy::parse)?,
        read_seq: u64_at(r, 3)?,
        joined_at: time(r, 4)?,
        acked_seq: u64_at(r, 5)?,
    })
}

pub(crate) const EVENT_COLS: &str = "id, channel_id, seq, kind, at, actor_id, payload";

pub(crate) fn event(r: &Row) -> Res<Event> {
    event_at(r, 0)
}

/// An event whose [`EVENT_COLS`] start at column `base`.
pub(crate) fn event_at(r: &Row, base: usize) -> Res<Event> {
    Ok(Event {
        id: id_at!(EventId, r, base),
        channel_id: id_at!(ChannelId, r, base + 1),
        seq: u64_at(r, base + 2)?,
        kind: parsed(r, base + 3, EventKind::parse)?,
        at: time(r, base + 4)?,
        actor: id_at!(PrincipalId, r, base + 5),
        payload: json(r, base + 6)?,
    })
}

pub(crate) const OVERRIDE_COLS: &str = "target_kind, target_id, action, effect";

pub(crate) fn override_(r: &Row) -> Res<Override> {
    override_at(r, 0)
}

/// An override whose [`OVERRIDE_COLS`] start at column `base`.
pub(crate) fn override_at(r: &Row, base: usize) -> Res<Override> {
    let kind: &str = r.try_get(base)?;
    let target = match kind {
        "role" => OverrideTarget::Role(parsed(r, base + 1, Role::parse)?),
        "principal" => OverrideTarget::Principal(id_at!(PrincipalId, r, base + 1)),
        other => return Err(corrupt("override target", other)),
    };
    let effect = parsed(r, base + 3, |s| match s {
        "allow" => Some(Effect::Allow),
        "deny" => Some(Effect::Deny),
        _ => None,
    })?;
    Ok(Override {
        target,
        action: parsed(r, base + 2, Action::parse)?,
        effect,
    })
}

pub(crate) const MESSAGE_COLS: &str = "id, channel_id, seq, thread_id, author_id, text, data, mentions, \
     client_msg_id, hop, created_at, edited_at, deleted, reply_count, last_reply_at, stream";

/// A message without its reactions and attachments (see `messages::with_details`).
pub(crate) fn message(r: &Row) -> Res<Message> {
    Ok(Message {
        id: id_at!(MessageId, r, 0),
        channel_id: id_at!(ChannelId, r, 1),
        seq: u64_at(r, 2)?,
        thread_id: opt_id_at!(MessageId, r, 3),
        author_id: id_at!(PrincipalId, r, 4),
        text: r.try_get(5)?,
        data: opt_json(r, 6)?,
        mentions: json(r, 7)?,
        client_msg_id: r.try_get(8)?,
        hop: u32_at(r, 9)?,
        created_at: time(r, 10)?,
        edited_at: opt_time(r, 11)?,
        deleted: r.try_get(12)?,
        attachments: Vec::new(),
        reactions: Vec::new(),
        reply_count: u32_at(r, 13)?,
        last_reply_at: opt_time(r, 14)?,
        stream: r
            .try_get::<_, Option<&str>>(15)?
            .map(|s| StreamStatus::parse(s).ok_or_else(|| corrupt("stream status", s)))
            .transpose()?,
    })
}

/// Selected from `triggers t` (queries join it with `events e`).
pub(crate) const TRIGGER_COLS: &str = "t.id, t.agent_id, t.channel_id, t.seq, t.message_id, t.thread_id, t.reason, t.hop, t.created_at";

fn trigger_reason(s: &str) -> Option<TriggerReason> {
    // The enum's own serde names are the stored form (see `as_str`).
    serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
}

/// A trigger whose [`TRIGGER_COLS`] start at column 0.
pub(crate) fn trigger(r: &Row) -> Res<Trigger> {
    Ok(Trigger {
        id: r.try_get(0)?,
        agent_id: id_at!(PrincipalId, r, 1),
        channel_id: id_at!(ChannelId, r, 2),
        seq: u64_at(r, 3)?,
        message_id: id_at!(MessageId, r, 4),
        thread_id: opt_id_at!(MessageId, r, 5),
        reason: parsed(r, 6, trigger_reason)?,
        hop: u32_at(r, 7)?,
        created_at: time(r, 8)?,
    })
}

pub(crate) const WEBHOOK_COLS: &str = "agent_id, url, secret, created_at";

pub(crate) fn webhook(r: &Row) -> Res<Webhook> {
    Ok(Webhook {
        agent_id: id_at!(PrincipalId, r, 0),
        url: r.try_get(1)?,
        secret: r.try_get(2)?,
        created_at: time(r, 3)?,
    })
}

pub(crate) const DELIVERY_COLS: &str = "id, agent_id, event_id, body, status, attempts, last_error, \
     next_attempt_at, created_at, delivered_at";

pub(crate) fn delivery(r: &Row) -> Res<Delivery> {
    Ok(Delivery {
        id: r.try_get(0)?,
        agent_id: id_at!(PrincipalId, r, 1),
        event_id: r.try_get(2)?,
        body: r.try_get(3)?,
        status: parsed(r, 4, DeliveryStatus::parse)?,
        attempts: u32_at(r, 5)?,
        last_error: r.try_get(6)?,
        next_attempt_at: opt_time(r, 7)?,
        created_at: time(r, 8)?,
        delivered_at: opt_time(r, 9)?,
    })
}

pub(crate) const FILE_COLS: &str =
    "id, channel_id, uploader_id, name, content_type, size, sha256, message_id, created_at";

pub(crate) fn file(r: &Row) -> Res<Attachment> {
    Ok(Attachment {
        id: r.try_get(0)?,
        channel_id: id_at!(ChannelId, r, 1),
        uploader_id: id_at!(PrincipalId, r, 2),
        name: r.try_get(3)?,
        content_type: r.try_get(4)?,
        size: u64_at(r, 5)?,
        sha256: r.try_get(6)?,
        message_id: opt_id_at!(MessageId, r, 7),
        created_at: time(r, 8)?,
    })
}

pub(crate) const AUDIT_COLS: &str =
    "id, org_id, actor_id, action, target_kind, target_id, before, after, at";

pub(crate) fn audit(r: &Row) -> Res<AuditEntry> {
    Ok(AuditEntry {
        id: r.try_get(0)?,
        org_id: id_at!(OrgId, r, 1),
        actor_id: id_at!(PrincipalId, r, 2),
        action: r.try_get(3)?,
        target_kind: r.try_get(4)?,
        target_id: r.try_get(5)?,
        before: opt_json(r, 6)?,
        after: opt_json(r, 7)?,
        at: time(r, 8)?,
    })
}

/// `cols` with every column qualified by `table`, for joins.
pub(crate) fn prefixed(table: &str, cols: &str) -> String {
    cols.split(',')
        .map(|c| format!("{table}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}
