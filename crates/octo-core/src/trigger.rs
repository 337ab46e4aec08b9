//! When a message or reaction wakes an agent member (DESIGN §3), decided purely.

use crate::id::{ChannelId, MessageId, PrincipalId};
use crate::model::{ChannelKind, Message, TriggerPolicy};
use serde::{Deserialize, Serialize};

/// Why an agent was woken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TriggerReason {
    /// `@name` of the agent.
    Mention,
    /// `@agents`: every agent member.
    Agents,
    /// A direct message to it (1:1), or any DM message under the `dm` policy.
    Dm,
    /// A reply in a thread it took part in (`thread` policy).
    Thread,
    /// Every message (`all` policy).
    All,
    /// Someone reacted to one of its messages (feedback).
    Reaction,
}

impl TriggerReason {
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerReason::Mention => "mention",
            TriggerReason::Agents => "agents",
            TriggerReason::Dm => "dm",
            TriggerReason::Thread => "thread",
            TriggerReason::All => "all",
            TriggerReason::Reaction => "reaction",
        }
    }
}

/// An agent woken by an event, as recorded once by the node that saw the write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Trigger {
    pub id: String,
    pub agent_id: PrincipalId,
    pub channel_id: ChannelId,
    /// The seq of the event that woke it.
    pub seq: u64,
    pub message_id: MessageId,
    pub thread_id: Option<MessageId>,
    pub reason: TriggerReason,
    pub hop: u32,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// What is known about one agent member when a message arrives.
#[derive(Debug, Clone)]
pub struct AgentMember<'a> {
    pub id: &'a PrincipalId,
    pub policy: TriggerPolicy,
    /// It wrote the thread's root or a reply in it.
    pub took_part_in_thread: bool,
}

/// The outcome for one agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    No,
    Yes(TriggerReason),
    /// It would have been woken, but the message's hop reached the limit.
    HeldByLoopGuard(TriggerReason),
}

/// Whether `message` (in a channel of `kind`, whose loop-guard limit is
/// `hop_limit`) wakes `agent`. An agent is never woken by itself; `@all` wakes
/// no agent; a mention always does.
pub fn message_wakes(
    message: &Message,
    kind: ChannelKind,
    hop_limit: u32,
    agent: &AgentMember<'_>,
) -> Wake {
    if &message.author_id == agent.id || message.deleted {
        return Wake::No;
    }
    let reason = if message.mentions.principal_ids.contains(agent.id) {
        Some(TriggerReason::Mention)
    } else if message.mentions.agents {
        Some(TriggerReason::Agents)
    } else if kind == ChannelKind::Dm {
        Some(TriggerReason::Dm)
    } else {
        match agent.policy {
            TriggerPolicy::All => Some(TriggerReason::All),
            TriggerPolicy::Dm if kind == ChannelKind::GroupDm => Some(TriggerReason::Dm),
            TriggerPolicy::Thread if message.thread_id.is_some() && agent.took_part_in_thread => {
                Some(TriggerReason::Thread)
            }
            _ => None,
        }
    };
    match reason {
        None => Wake::No,
        Some(r) if message.hop >= hop_limit => Wake::HeldByLoopGuard(r),
        Some(r) => Wake::Yes(r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::*;
    use crate::model::Mentions;

    fn message(author: &str, hop: u32) -> Message {
        Message {
            id: MessageId::generate(),
            channel_id: ChannelId::from_string("c"),
            seq: 1,
            thread_id: None,
            author_id: PrincipalId::from_string(author),
            text: "hi".into(),
            data: None,
            mentions: Mentions::default(),
            client_msg_id: None,
            hop,
            created_at: chrono::Utc::now(),
            edited_at: None,
            deleted: false,
            stream: None,
            attachments: vec![],
            reactions: vec![],
            reply_count: 0,
            last_reply_at: None,
        }
    }

    fn agent<'a>(id: &'a PrincipalId, policy: TriggerPolicy, took_part: bool) -> AgentMember<'a> {
        AgentMember {
            id,
            policy,
            took_part_in_thread: took_part,
        }
    }

    #[test]
    fn mentions_wake_whatever_the_policy_and_all_wakes_none() {
        let bot = PrincipalId::from_string("bot");
        let mut m = message("human", 0);
        assert_eq!(
            message_wakes(
                &m,
                ChannelKind::Channel,
                4,
                &agent(&bot, TriggerPolicy::Mention, false)
            ),
            Wake::No
        );
        m.mentions.all = true;
        assert_eq!(
            message_wakes(
                &m,
                ChannelKind::Channel,
                4,
                &agent(&bot, TriggerPolicy::Mention, false)
            ),
            Wake::No
        );
        m.mentions.principal_ids.push(bot.clone());
        assert_eq!(
            message_wakes(
                &m,
                ChannelKind::Channel,
                4,
                &agent(&bot, TriggerPolicy::Mention, false)
            ),
            Wake::Yes(TriggerReason::Mention)
        );
        let mut m = message("human", 0);
        m.mentions.agents = true;
        assert_eq!(
            message_wakes(
                &m,
                ChannelKind::Channel,
                4,
                &agent(&bot, TriggerPolicy::Mention, false)
            ),
            Wake::Yes(TriggerReason::Agents)
        );
    }

    #[test]
    fn never_by_itself_and_held_at_the_hop_limit() {
        let bot = PrincipalId::from_string("bot");
        let mut own = message("bot", 0);
        own.mentions.principal_ids.push(bot.clone());
        assert_eq!(
            message_wakes(
                &own,
                ChannelKind::Dm,
                4,
                &agent(&bot, TriggerPolicy::All, true)
            ),
            Wake::No
        );
        let mut deep = message("other-bot", 4);
        deep.mentions.principal_ids.push(bot.clone());
        assert_eq!(
            message_wakes(
                &deep,
                ChannelKind::Channel,
                4,
                &agent(&bot, TriggerPolicy::Mention, false)
            ),
            Wake::HeldByLoopGuard(TriggerReason::Mention)
        );
        deep.hop = 3;
        assert_eq!(
            message_wakes(
                &deep,
                ChannelKind::Channel,
                4,
                &agent(&bot, TriggerPolicy::Mention, false)
            ),
            Wake::Yes(TriggerReason::Mention)
        );
    }

    #[test]
    fn policies() {
        let bot = PrincipalId::from_string("bot");
        let plain = message("human", 0);
        let mut reply = message("human", 0);
        reply.thread_id = Some(MessageId::generate());
        let wake = |m: &Message, kind, policy, took_part| {
            message_wakes(m, kind, 4, &agent(&bot, policy, took_part))
        };
        assert_eq!(
            wake(&plain, ChannelKind::Dm, TriggerPolicy::Mention, false),
            Wake::Yes(TriggerReason::Dm)
        );
        assert_eq!(
            wake(&plain, ChannelKind::GroupDm, TriggerPolicy::Mention, false),
            Wake::No
        );
        assert_eq!(
            wake(&plain, ChannelKind::GroupDm, TriggerPolicy::Dm, false),
            Wake::Yes(TriggerReason::Dm)
        );
        assert_eq!(
            wake(&plain, ChannelKind::Channel, TriggerPolicy::Dm, false),
            Wake::No
        );
        assert_eq!(
            wake(&plain, ChannelKind::Channel, TriggerPolicy::All, false),
            Wake::Yes(TriggerReason::All)
        );
        assert_eq!(
            wake(&reply, ChannelKind::Channel, TriggerPolicy::Thread, true),
            Wake::Yes(TriggerReason::Thread)
        );
        assert_eq!(
            wake(&reply, ChannelKind::Channel, TriggerPolicy::Thread, false),
            Wake::No
        );
        assert_eq!(
            wake(&plain, ChannelKind::Channel, TriggerPolicy::Thread, true),
            Wake::No
        );
    }
}
