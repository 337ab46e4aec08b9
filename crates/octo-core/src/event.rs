//! Events: every change inside a channel, in the one shape they travel in.

use crate::id::{ChannelId, EventId, PrincipalId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What happened. Serialized as dotted names (`message.created`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum EventKind {
    #[serde(rename = "message.created")]
    MessageCreated,
    #[serde(rename = "message.edited")]
    MessageEdited,
    #[serde(rename = "message.deleted")]
    MessageDeleted,
    #[serde(rename = "reaction.added")]
    ReactionAdded,
    #[serde(rename = "reaction.removed")]
    ReactionRemoved,
    #[serde(rename = "member.joined")]
    MemberJoined,
    #[serde(rename = "member.left")]
    MemberLeft,
    #[serde(rename = "channel.updated")]
    ChannelUpdated,
    /// A chunk appended to a streaming message.
    #[serde(rename = "message.delta")]
    MessageDelta,
    /// A streaming message is complete (or was closed for being idle).
    #[serde(rename = "message.finished")]
    MessageFinished,
    /// An agent's status line in the channel changed ("reading the thread…").
    #[serde(rename = "agent.status")]
    AgentStatus,
    /// The loop guard held agents back: a system note, visible to members.
    #[serde(rename = "agent.loop_guard")]
    AgentLoopGuard,
    /// The channel's (or one of its threads') group.md has a new revision.
    #[serde(rename = "groupmd.updated")]
    GroupmdUpdated,
    /// Someone proposed a group.md change for review (channel in review mode).
    #[serde(rename = "groupmd.proposed")]
    GroupmdProposed,
    /// A proposal was accepted, rejected or superseded.
    #[serde(rename = "groupmd.proposal_resolved")]
    GroupmdProposalResolved,
}

impl EventKind {
    pub const ALL: [EventKind; 15] = [
        EventKind::MessageCreated,
        EventKind::MessageEdited,
        EventKind::MessageDeleted,
        EventKind::ReactionAdded,
        EventKind::ReactionRemoved,
        EventKind::MemberJoined,
        EventKind::MemberLeft,
        EventKind::ChannelUpdated,
        EventKind::MessageDelta,
        EventKind::MessageFinished,
        EventKind::AgentStatus,
        EventKind::AgentLoopGuard,
        EventKind::GroupmdUpdated,
        EventKind::GroupmdProposed,
        EventKind::GroupmdProposalResolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::MessageCreated => "message.created",
            EventKind::MessageEdited => "message.edited",
            EventKind::MessageDeleted => "message.deleted",
            EventKind::ReactionAdded => "reaction.added",
            EventKind::ReactionRemoved => "reaction.removed",
            EventKind::MemberJoined => "member.joined",
            EventKind::MemberLeft => "member.left",
            EventKind::ChannelUpdated => "channel.updated",
            EventKind::MessageDelta => "message.delta",
            EventKind::MessageFinished => "message.finished",
            EventKind::AgentStatus => "agent.status",
            EventKind::AgentLoopGuard => "agent.loop_guard",
            EventKind::GroupmdUpdated => "groupmd.updated",
            EventKind::GroupmdProposed => "groupmd.proposed",
            EventKind::GroupmdProposalResolved => "groupmd.proposal_resolved",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One entry of a channel's log. `seq` is gapless per channel; `id` is stable, so
/// a receiver that sees an event twice can drop the copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Event {
    pub id: EventId,
    pub channel_id: ChannelId,
    pub seq: u64,
    pub kind: EventKind,
    pub at: DateTime<Utc>,
    pub actor: PrincipalId,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}
