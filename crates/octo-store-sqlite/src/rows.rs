//! Row ↔ record mapping: the column lists each query selects and the functions
//! that turn those rows into `octo_core` records. Times are Unix milliseconds.

use chrono::{DateTime, Utc};
use octo_core::model::*;
use octo_core::trigger::{Trigger, TriggerReason};
use octo_core::*;
use octo_store::{Delivery, DeliveryStatus, Webhook};
use rusqlite::Row;
use rusqlite::types::Type;

pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn seq_param(seq: u64) -> i64 {
    // Seqs never approach i64::MAX; saturating keeps a hostile cursor harmless.
    i64::try_from(seq).unwrap_or(i64::MAX)
}

fn bad(idx: usize, ty: Type, msg: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, ty, msg.into())
}

fn time(r: &Row, idx: usize) -> rusqlite::Result<DateTime<Utc>> {
    let v: i64 = r.get(idx)?;
    DateTime::from_timestamp_millis(v)
        .ok_or_else(|| bad(idx, Type::Integer, format!("bad time {v}")))
}

fn opt_time(r: &Row, idx: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    match r.get::<_, Option<i64>>(idx)? {
        None => Ok(None),
        Some(_) => time(r, idx).map(Some),
    }
}

pub(crate) fn u64_at(r: &Row, idx: usize) -> rusqlite::Result<u64> {
    let v: i64 = r.get(idx)?;
    u64::try_from(v).map_err(|_| bad(idx, Type::Integer, format!("negative value {v}")))
}

fn u32_at(r: &Row, idx: usize) -> rusqlite::Result<u32> {
    let v: i64 = r.get(idx)?;
    u32::try_from(v).map_err(|_| bad(idx, Type::Integer, format!("out of range {v}")))
}

fn parsed<T>(r: &Row, idx: usize, parse: fn(&str) -> Option<T>) -> rusqlite::Result<T> {
    let s: String = r.get(idx)?;
    parse(&s).ok_or_else(|| bad(idx, Type::Text, format!("unknown value {s:?}")))
}

fn json<T: serde::de::DeserializeOwned>(r: &Row, idx: usize) -> rusqlite::Result<T> {
    let s: String = r.get(idx)?;
    serde_json::from_str(&s).map_err(|e| bad(idx, Type::Text, e.to_string()))
}

fn opt_json<T: serde::de::DeserializeOwned>(r: &Row, idx: usize) -> rusqlite::Result<Option<T>> {
    match r.get::<_, Option<String>>(idx)? {
        None => Ok(None),
        Some(_) => json(r, idx).map(Some),
    }
}

macro_rules! id_at {
    ($ty:ty, $r:expr, $idx:expr) => {
        <$ty>::from_string($r.get::<_, String>($idx)?)
    };
}

macro_rules! opt_id_at {
    ($ty:ty, $r:expr, $idx:expr) => {
        $r.get::<_, Option<String>>($idx)?.map(<$ty>::from_string)
    };
}

pub(crate) const ORG_COLS: &str = "id, name, created_at";

pub(crate) fn org(r: &Row) -> rusqlite::Result<Org> {
    Ok(Org {
        id: id_at!(OrgId, r, 0),
        name: r.get(1)?,
        created_at: time(r, 2)?,
    })
}

pub(crate) const PRINCIPAL_COLS: &str = "id, org_id, kind, name, display_name, email, role, owner_id, description, created_at, deactivated, \
     skills, avatar_url";

pub(crate) fn principal(r: &Row) -> rusqlite::Result<Principal> {
    Ok(Principal {
        id: id_at!(PrincipalId, r, 0),
        org_id: id_at!(OrgId, r, 1),
        kind: parsed(r, 2, PrincipalKind::parse)?,
        name: r.get(3)?,
        display_name: r.get(4)?,
        email: r.get(5)?,
        role: parsed(r, 6, Role::parse)?,
        owner_id: opt_id_at!(PrincipalId, r, 7),
        description: r.get(8)?,
        created_at: time(r, 9)?,
        deactivated: r.get(10)?,
        skills: json(r, 11)?,
        avatar_url: r.get(12)?,
    })
}

pub(crate) const TOKEN_COLS: &str =
    "id, principal_id, label, created_at, expires_at, last_used_at, revoked_at";

pub(crate) fn token(r: &Row) -> rusqlite::Result<TokenInfo> {
    Ok(TokenInfo {
        id: id_at!(TokenId, r, 0),
        principal_id: id_at!(PrincipalId, r, 1),
        label: r.get(2)?,
        created_at: time(r, 3)?,
        expires_at: opt_time(r, 4)?,
        last_used_at: opt_time(r, 5)?,
        revoked_at: opt_time(r, 6)?,
    })
}

pub(crate) const SPACE_COLS: &str = "id, org_id, name, visibility, created_by, created_at";

pub(crate) fn space(r: &Row) -> rusqlite::Result<Space> {
    Ok(Space {
        id: id_at!(SpaceId, r, 0),
        org_id: id_at!(OrgId, r, 1),
        name: r.get(2)?,
        visibility: parsed(r, 3, Visibility::parse)?,
        created_by: id_at!(PrincipalId, r, 4),
        created_at: time(r, 5)?,
    })
}

pub(crate) const SPACE_MEMBER_COLS: &str = "space_id, principal_id, role";

pub(crate) fn space_member(r: &Row) -> rusqlite::Result<SpaceMember> {
    Ok(SpaceMember {
        space_id: id_at!(SpaceId, r, 0),
        principal_id: id_at!(PrincipalId, r, 1),
        role: parsed(r, 2, Role::parse)?,
    })
}

pub(crate) const CATEGORY_COLS: &str = "id, space_id, name, position, created_at";

pub(crate) fn category(r: &Row) -> rusqlite::Result<Category> {
    Ok(Category {
        id: id_at!(CategoryId, r, 0),
        space_id: id_at!(SpaceId, r, 1),
        name: r.get(2)?,
        position: r.get(3)?,
        created_at: time(r, 4)?,
    })
}

/// For `SELECT … FROM channels` (unaliased: the last seq is read from the
/// channel's newest event).
pub(crate) const CHANNEL_COLS: &str = "id, org_id, space_id, category_id, kind, name, topic, private, \
     (SELECT coalesce(max(seq), 0) FROM events WHERE events.channel_id = channels.id), created_by, created_at, \
     agent_hop_limit, agent_triggers_per_minute";

pub(crate) fn channel(r: &Row) -> rusqlite::Result<Channel> {
    Ok(Channel {
        id: id_at!(ChannelId, r, 0),
        org_id: id_at!(OrgId, r, 1),
        space_id: opt_id_at!(SpaceId, r, 2),
        category_id: opt_id_at!(CategoryId, r, 3),
        kind: parsed(r, 4, ChannelKind::parse)?,
        name: r.get(5)?,
        topic: r.get(6)?,
        private: r.get(7)?,
        last_seq: u64_at(r, 8)?,
        created_by: id_at!(PrincipalId, r, 9),
        created_at: time(r, 10)?,
        agent_hop_limit: u32_at(r, 11)?,
        agent_triggers_per_minute: u32_at(r, 12)?,
    })
}

pub(crate) const MEMBER_COLS: &str =
    "channel_id, principal_id, trigger, read_seq, joined_at, acked_seq";

pub(crate) fn member(r: &Row) -> rusqlite::Result<ChannelMember> {
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

pub(crate) fn event(r: &Row) -> rusqlite::Result<Event> {
    event_at(r, 0)
}

/// An event whose [`EVENT_COLS`] start at column `base`.
pub(crate) fn event_at(r: &Row, base: usize) -> rusqlite::Result<Event> {
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

pub(crate) fn override_(r: &Row) -> rusqlite::Result<Override> {
    override_at(r, 0)
}

/// An override whose [`OVERRIDE_COLS`] start at column `base`.
pub(crate) fn override_at(r: &Row, base: usize) -> rusqlite::Result<Override> {
    let kind: String = r.get(base)?;
    let target = match kind.as_str() {
        "role" => OverrideTarget::Role(parsed(r, base + 1, Role::parse)?),
        "principal" => OverrideTarget::Principal(id_at!(PrincipalId, r, base + 1)),
        other => {
            return Err(bad(
                base,
                Type::Text,
                format!("unknown override target {other:?}"),
            ));
        }
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
pub(crate) fn message(r: &Row) -> rusqlite::Result<Message> {
    Ok(Message {
        id: id_at!(MessageId, r, 0),
        channel_id: id_at!(ChannelId, r, 1),
        seq: u64_at(r, 2)?,
        thread_id: opt_id_at!(MessageId, r, 3),
        author_id: id_at!(PrincipalId, r, 4),
        text: r.get(5)?,
        data: opt_json(r, 6)?,
        mentions: json(r, 7)?,
        client_msg_id: r.get(8)?,
        hop: u32_at(r, 9)?,
        created_at: time(r, 10)?,
        edited_at: opt_time(r, 11)?,
        deleted: r.get(12)?,
        attachments: Vec::new(),
        reactions: Vec::new(),
        reply_count: u32_at(r, 13)?,
        last_reply_at: opt_time(r, 14)?,
        stream: r
            .get::<_, Option<String>>(15)?
            .map(|_| parsed(r, 15, StreamStatus::parse))
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
pub(crate) fn trigger(r: &Row) -> rusqlite::Result<Trigger> {
    Ok(Trigger {
        id: r.get(0)?,
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

pub(crate) fn webhook(r: &Row) -> rusqlite::Result<Webhook> {
    Ok(Webhook {
        agent_id: id_at!(PrincipalId, r, 0),
        url: r.get(1)?,
        secret: r.get(2)?,
        created_at: time(r, 3)?,
    })
}

pub(crate) const DELIVERY_COLS: &str = "id, agent_id, event_id, body, status, attempts, last_error, \
     next_attempt_at, created_at, delivered_at";

pub(crate) fn delivery(r: &Row) -> rusqlite::Result<Delivery> {
    Ok(Delivery {
        id: r.get(0)?,
        agent_id: id_at!(PrincipalId, r, 1),
        event_id: r.get(2)?,
        body: r.get(3)?,
        status: parsed(r, 4, DeliveryStatus::parse)?,
        attempts: u32_at(r, 5)?,
        last_error: r.get(6)?,
        next_attempt_at: opt_time(r, 7)?,
        created_at: time(r, 8)?,
        delivered_at: opt_time(r, 9)?,
    })
}

pub(crate) const FILE_COLS: &str =
    "id, channel_id, uploader_id, name, content_type, size, sha256, message_id, created_at";

pub(crate) fn file(r: &Row) -> rusqlite::Result<Attachment> {
    Ok(Attachment {
        id: r.get(0)?,
        channel_id: id_at!(ChannelId, r, 1),
        uploader_id: id_at!(PrincipalId, r, 2),
        name: r.get(3)?,
        content_type: r.get(4)?,
        size: u64_at(r, 5)?,
        sha256: r.get(6)?,
        message_id: opt_id_at!(MessageId, r, 7),
        created_at: time(r, 8)?,
    })
}

pub(crate) const AUDIT_COLS: &str =
    "id, org_id, actor_id, action, target_kind, target_id, before, after, at";

pub(crate) fn audit(r: &Row) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        id: r.get(0)?,
        org_id: id_at!(OrgId, r, 1),
        actor_id: id_at!(PrincipalId, r, 2),
        action: r.get(3)?,
        target_kind: r.get(4)?,
        target_id: r.get(5)?,
        before: opt_json(r, 6)?,
        after: opt_json(r, 7)?,
        at: time(r, 8)?,
    })
}
