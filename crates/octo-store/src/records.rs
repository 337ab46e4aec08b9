//! What goes into the store: the inputs of its writes and queries.
//!
//! Inputs carry already-parsed values; the store trusts them and only enforces
//! what needs the database (uniqueness, existence, sequence numbers).

use chrono::{DateTime, Utc};
use octo_core::model::*;
use octo_core::*;

pub type Timestamp = DateTime<Utc>;

/// The current time, truncated to milliseconds: the precision every backend keeps,
/// so what a write returns equals what a later read returns.
pub fn now() -> Timestamp {
    let t = Utc::now();
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

#[derive(Debug, Clone)]
pub struct NewOrg {
    pub id: OrgId,
    pub name: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewPrincipal {
    pub id: PrincipalId,
    pub org_id: OrgId,
    pub kind: PrincipalKind,
    pub name: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    /// An argon2id PHC string; `None` for principals that cannot log in (agents).
    pub password_hash: Option<String>,
    pub role: Role,
    pub owner_id: Option<PrincipalId>,
    pub description: Option<String>,
    pub skills: Vec<String>,
    pub avatar_url: Option<String>,
    pub created_at: Timestamp,
}

/// Changes to a principal's profile; `None` leaves a field as it is, `Some(None)`
/// clears it.
#[derive(Debug, Clone, Default)]
pub struct ProfilePatch {
    pub display_name: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub skills: Option<Vec<String>>,
    pub avatar_url: Option<Option<String>>,
}

#[derive(Debug, Clone)]
pub struct NewToken {
    pub id: TokenId,
    pub principal_id: PrincipalId,
    /// SHA-256 of the secret; the secret itself is never stored.
    pub secret_hash: Vec<u8>,
    pub label: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct NewSpace {
    pub id: SpaceId,
    pub org_id: OrgId,
    pub name: String,
    pub visibility: Visibility,
    pub created_by: PrincipalId,
    pub creator_role: Role,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewCategory {
    pub id: CategoryId,
    pub space_id: SpaceId,
    pub name: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewChannel {
    pub id: ChannelId,
    pub org_id: OrgId,
    pub space_id: Option<SpaceId>,
    pub category_id: Option<CategoryId>,
    pub kind: ChannelKind,
    pub name: Option<String>,
    pub topic: Option<String>,
    pub private: bool,
    pub created_by: PrincipalId,
    pub created_at: Timestamp,
    /// Members from the start, in this order (the creator usually first).
    pub members: Vec<PrincipalId>,
    /// For DMs: a key naming the member set, unique per org.
    pub dm_key: Option<String>,
}

/// The result of a get-or-create.
#[derive(Debug, Clone)]
pub struct Created<T> {
    pub value: T,
    pub created: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ChannelPatch {
    pub name: Option<String>,
    /// `Some(None)` clears the topic.
    pub topic: Option<Option<String>>,
    pub agent_hop_limit: Option<u32>,
    pub agent_triggers_per_minute: Option<u32>,
}

/// A channel's loop guard when nobody has changed it.
pub const DEFAULT_AGENT_HOP_LIMIT: u32 = 4;
/// Triggers per agent per channel per minute when nobody has changed it.
pub const DEFAULT_AGENT_TRIGGERS_PER_MINUTE: u32 = 30;

/// A place overrides can be set on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceRef {
    Space(SpaceId),
    Category(CategoryId),
    Channel(ChannelId),
}

impl ResourceRef {
    pub fn kind(&self) -> &'static str {
        match self {
            ResourceRef::Space(_) => "space",
            ResourceRef::Category(_) => "category",
            ResourceRef::Channel(_) => "channel",
        }
    }

    pub fn id(&self) -> &str {
        match self {
            ResourceRef::Space(id) => id.as_str(),
            ResourceRef::Category(id) => id.as_str(),
            ResourceRef::Channel(id) => id.as_str(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewMessage {
    pub id: MessageId,
    pub channel_id: ChannelId,
    pub thread_id: Option<MessageId>,
    pub author_id: PrincipalId,
    pub author_kind: PrincipalKind,
    pub text: String,
    pub data: Option<serde_json::Value>,
    pub mentions: Mentions,
    pub client_msg_id: Option<String>,
    /// Opens the message as a stream that deltas will extend.
    pub stream: bool,
    /// Files uploaded into this channel by the author and not yet attached.
    pub attachments: Vec<String>,
    pub created_at: Timestamp,
}

impl NewMessage {
    /// The message as stored at `seq`, built here so every backend answers a
    /// post with the same record.
    pub fn stored(self, seq: u64, hop: u32, attachments: Vec<Attachment>) -> Message {
        Message {
            id: self.id,
            channel_id: self.channel_id,
            seq,
            thread_id: self.thread_id,
            author_id: self.author_id,
            text: self.text,
            data: self.data,
            mentions: self.mentions,
            client_msg_id: self.client_msg_id,
            hop,
            created_at: self.created_at,
            edited_at: None,
            deleted: false,
            stream: self.stream.then_some(StreamStatus::Open),
            attachments,
            reactions: Vec::new(),
            reply_count: 0,
            last_reply_at: None,
        }
    }
}

/// The answer to a post: the message, and the event if this call created it.
#[derive(Debug, Clone)]
pub struct Posted {
    pub message: Message,
    /// `None` when the post was a retry of an earlier one (same `client_msg_id`).
    pub event: Option<Event>,
}

#[derive(Debug, Clone)]
pub struct MessageEdit {
    pub text: String,
    pub mentions: Mentions,
    pub edited_at: Timestamp,
}

/// Which messages of a channel a page holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThreadFilter {
    /// Top-level messages only (thread roots included, replies not).
    TopLevel,
    /// One thread: its root and its replies.
    Thread(MessageId),
}

#[derive(Debug, Clone)]
pub struct MessagePage {
    pub filter: ThreadFilter,
    /// Only messages with `seq > after`; the page is the oldest `limit` of them.
    pub after: Option<u64>,
    /// Only messages with `seq < before`; the page is the newest `limit` of them.
    /// Ignored when `after` is set.
    pub before: Option<u64>,
    pub limit: u32,
}

/// Where an agent's triggers are POSTed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub agent_id: PrincipalId,
    pub url: String,
    /// The HMAC key deliveries are signed with (shown to the owner once).
    pub secret: String,
    pub created_at: Timestamp,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    /// Gave up after the last retry; the owner can replay it.
    Dead,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Delivered,
            DeliveryStatus::Dead,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

/// One webhook delivery to make (an outbox row).
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub id: String,
    pub agent_id: PrincipalId,
    /// The receiver's dedupe key (the trigger's id): the same for every retry.
    pub event_id: String,
    /// The JSON to POST (the turn token is added at each attempt).
    pub body: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Delivery {
    pub id: String,
    pub agent_id: PrincipalId,
    pub event_id: String,
    #[serde(skip)]
    pub body: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub enum Attempt {
    Delivered { at: Timestamp },
    Retry { at: Timestamp, error: String },
    Dead { error: String },
}

/// What to search for, and where: the server passes exactly the channels the
/// caller can see, so a backend can never return anything else.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub channels: Vec<ChannelId>,
    pub terms: Vec<octo_core::search::SearchTerm>,
    pub author: Option<PrincipalId>,
    /// Only this thread (its root and replies).
    pub thread: Option<MessageId>,
    pub has_attachment: Option<bool>,
    pub before: Option<Timestamp>,
    pub after: Option<Timestamp>,
    pub limit: u32,
    pub offset: u32,
}

/// A found message, with the part that matched.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct SearchHit {
    pub message: Message,
    /// A short excerpt of the text around the matches.
    pub snippet: String,
    /// `[start, end)` character offsets of the matches within `snippet`.
    pub highlights: Vec<(u32, u32)>,
    /// Higher is better; only the order is meaningful.
    pub score: f64,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<PrincipalId>,
    pub action: Option<String>,
    pub target_id: Option<String>,
    pub before: Option<Timestamp>,
    pub after: Option<Timestamp>,
    pub limit: u32,
}

/// The loop guard's counter: agent-written messages since the last human one.
pub fn next_hop(author_kind: PrincipalKind, previous_hop: Option<u32>) -> u32 {
    match author_kind {
        PrincipalKind::Human => 0,
        PrincipalKind::Agent => previous_hop.map_or(1, |h| h.saturating_add(1)),
    }
}

/// Whose group.md: a channel's, or one thread's in it (the root message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupmdScope {
    pub channel: ChannelId,
    pub thread: Option<MessageId>,
}

/// A write of a group.md: compare-and-swap on `base_revision` (0 = the empty
/// template every channel and thread starts with).
#[derive(Debug, Clone)]
pub struct NewGroupmdRevision {
    pub scope: GroupmdScope,
    pub base_revision: u64,
    pub author: PrincipalId,
    pub text: String,
    /// The change from the base, as the caller rendered it (a line diff).
    pub diff: String,
}

/// One stored revision (1, 2, …). Revision 0 is never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupmdRevision {
    pub scope: GroupmdScope,
    pub revision: u64,
    pub base_revision: u64,
    pub author: PrincipalId,
    pub created_at: Timestamp,
    pub text: String,
    pub diff: String,
}

/// Payloads of the events a backend appends, built here so every backend writes
/// byte-identical logs.
pub mod payload {
    use octo_core::model::*;
    use octo_core::*;
    use serde_json::{Value, json};

    pub fn message_created(m: &Message) -> Value {
        json!({ "message": m })
    }

    pub fn message_edited(m: &Message) -> Value {
        json!({
            "message_id": m.id,
            "thread_id": m.thread_id,
            "text": m.text,
            "mentions": m.mentions,
            "edited_at": m.edited_at,
        })
    }

    pub fn message_deleted(m: &Message) -> Value {
        json!({ "message_id": m.id, "thread_id": m.thread_id })
    }

    /// `message_author` lets an agent see at once that the reaction is on one of
    /// its own messages (a `reaction` trigger).
    pub fn reaction(
        message: &MessageId,
        message_author: &PrincipalId,
        principal: &PrincipalId,
        emoji: &str,
    ) -> Value {
        json!({
            "message_id": message,
            "message_author_id": message_author,
            "principal_id": principal,
            "emoji": emoji,
        })
    }

    pub fn message_delta(m: &Message, delta: &str) -> Value {
        json!({ "message_id": m.id, "thread_id": m.thread_id, "delta": delta })
    }

    pub fn message_finished(m: &Message) -> Value {
        json!({ "message_id": m.id, "thread_id": m.thread_id, "text": m.text, "stream": m.stream })
    }

    pub fn member(principal: &PrincipalId) -> Value {
        json!({ "principal_id": principal })
    }

    pub fn groupmd_updated(r: &crate::GroupmdRevision) -> Value {
        json!({
            "thread_id": r.scope.thread,
            "revision": r.revision,
            "base_revision": r.base_revision,
            "author_id": r.author,
        })
    }

    pub fn channel_updated(c: &Channel) -> Value {
        json!({
            "name": c.name,
            "topic": c.topic,
            "agent_hop_limit": c.agent_hop_limit,
            "agent_triggers_per_minute": c.agent_triggers_per_minute,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_counts_agent_messages_since_the_last_human_one() {
        assert_eq!(next_hop(PrincipalKind::Human, Some(3)), 0);
        assert_eq!(next_hop(PrincipalKind::Agent, None), 1);
        assert_eq!(next_hop(PrincipalKind::Agent, Some(0)), 1);
        assert_eq!(next_hop(PrincipalKind::Agent, Some(3)), 4);
    }
}
