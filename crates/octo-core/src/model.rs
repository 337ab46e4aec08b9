//! The records of the domain as the API shows them.

use crate::id::*;
use crate::perm::Role;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

macro_rules! lowercase_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

lowercase_enum!(
    /// Humans and agents are the same kind of principal; this only says which.
    PrincipalKind { Human => "human", Agent => "agent" }
);
lowercase_enum!(
    /// An open space is visible to every org member but guests; a private one
    /// only to its members.
    Visibility { Open => "open", Private => "private" }
);
lowercase_enum!(
    ChannelKind { Channel => "channel", Dm => "dm", GroupDm => "group_dm" }
);
lowercase_enum!(
    /// When an agent member is woken: `mention` (default: only when mentioned),
    /// `dm` (any message of a DM or group DM), `thread` (any reply in a thread it
    /// took part in), `all` (every message). A mention always wakes it.
    TriggerPolicy { Mention => "mention", Dm => "dm", Thread => "thread", All => "all" }
);
lowercase_enum!(
    /// Where a streaming message stands.
    StreamStatus { Open => "open", Finished => "finished", Interrupted => "interrupted" }
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Org {
    pub id: OrgId,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Principal {
    pub id: PrincipalId,
    pub org_id: OrgId,
    pub kind: PrincipalKind,
    /// The handle others mention as `@name`.
    pub name: String,
    pub display_name: Option<String>,
    /// Humans only; never shown for agents.
    pub email: Option<String>,
    pub role: Role,
    /// For agents: the human who created and answers for it.
    pub owner_id: Option<PrincipalId>,
    pub description: Option<String>,
    /// For agents: what it is good at, shown on its profile.
    pub skills: Vec<String>,
    pub avatar_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub deactivated: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Space {
    pub id: SpaceId,
    pub org_id: OrgId,
    pub name: String,
    pub visibility: Visibility,
    pub created_by: PrincipalId,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SpaceMember {
    pub space_id: SpaceId,
    pub principal_id: PrincipalId,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Category {
    pub id: CategoryId,
    pub space_id: SpaceId,
    pub name: String,
    pub position: i64,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Channel {
    pub id: ChannelId,
    pub org_id: OrgId,
    pub space_id: Option<SpaceId>,
    pub category_id: Option<CategoryId>,
    pub kind: ChannelKind,
    /// None for DMs, whose name is their members.
    pub name: Option<String>,
    pub topic: Option<String>,
    pub private: bool,
    /// The seq of the newest event in the channel's log (0 when empty).
    pub last_seq: u64,
    /// Loop guard: a message whose hop has reached this wakes no agent.
    pub agent_hop_limit: u32,
    /// Most triggers one agent gets from this channel per minute.
    pub agent_triggers_per_minute: u32,
    pub created_by: PrincipalId,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChannelMember {
    pub channel_id: ChannelId,
    pub principal_id: PrincipalId,
    pub trigger: TriggerPolicy,
    /// The member's read cursor: the last seq it has seen (what "unread" counts
    /// from; it may move back to mark something unread).
    pub read_seq: u64,
    /// The delivery cursor: the last seq the member's clients acknowledged
    /// (`ack` over WebSocket, `POST /events/ack`). Only moves forward; a client
    /// resuming with server-side cursors starts after it.
    pub acked_seq: u64,
    pub joined_at: DateTime<Utc>,
}

/// Who a message mentions, resolved by the server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Mentions {
    pub principal_ids: Vec<PrincipalId>,
    /// `@all`: every member of the channel.
    pub all: bool,
    /// `@agents`: every agent member of the channel.
    pub agents: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reaction {
    pub emoji: String,
    pub count: u32,
    pub principal_ids: Vec<PrincipalId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Message {
    pub id: MessageId,
    pub channel_id: ChannelId,
    /// The seq of the `message.created` event; orders messages in the channel.
    pub seq: u64,
    /// The root message's id when this is a reply in a thread.
    pub thread_id: Option<MessageId>,
    pub author_id: PrincipalId,
    /// Markdown. Empty once the message is deleted.
    pub text: String,
    #[schema(value_type = Option<Object>)]
    pub data: Option<serde_json::Value>,
    pub mentions: Mentions,
    pub client_msg_id: Option<String>,
    /// Agent-written messages since the last human one in the same thread (or top
    /// level); computed by the server, the loop guard's input.
    pub hop: u32,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted: bool,
    /// Set for messages written as a stream of deltas.
    pub stream: Option<StreamStatus>,
    /// Files attached when it was sent.
    pub attachments: Vec<Attachment>,
    pub reactions: Vec<Reaction>,
    /// For a thread root: how many replies it has.
    pub reply_count: u32,
    pub last_reply_at: Option<DateTime<Utc>>,
}

/// A bearer token as listed to its owner; the secret is shown only once, at
/// creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenInfo {
    pub id: TokenId,
    pub principal_id: PrincipalId,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// An uploaded file, as messages and listings show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attachment {
    pub id: String,
    pub channel_id: ChannelId,
    pub uploader_id: PrincipalId,
    /// The name it was uploaded under (display only; never a path on disk).
    pub name: String,
    /// Detected from the content, not taken from the uploader.
    pub content_type: String,
    pub size: u64,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    /// The message it is attached to, once sent.
    pub message_id: Option<MessageId>,
    pub created_at: DateTime<Utc>,
}

/// One administrative change in an org, for its audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: String,
    pub org_id: OrgId,
    pub actor_id: PrincipalId,
    /// What was done, e.g. `member.role_changed`, `overrides.replaced`.
    pub action: String,
    /// What it was done to: `principal`, `space`, `category`, `channel`, `token`, `agent`…
    pub target_kind: String,
    pub target_id: String,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    pub at: DateTime<Utc>,
}
