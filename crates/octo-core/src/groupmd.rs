//! group.md review mode: a channel either applies every write at once (`auto`)
//! or collects proposals that members with `edit_groupmd` accept or reject.

use crate::id::{ChannelId, MessageId, PrincipalId, ProposalId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How a channel's group.md takes changes. Threads follow their channel.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum GroupmdMode {
    /// Writes (`PUT`) become revisions at once.
    #[default]
    Auto,
    /// Changes are proposed, and become revisions when accepted.
    Review,
}

impl GroupmdMode {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupmdMode::Auto => "auto",
            GroupmdMode::Review => "review",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [GroupmdMode::Auto, GroupmdMode::Review]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

/// Where a proposal stands. Only `pending` ones can be resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatus {
    Pending,
    Accepted,
    Rejected,
    /// Replaced by a newer proposal of the same author in the same document.
    Superseded,
}

impl ProposalStatus {
    pub const ALL: [ProposalStatus; 4] = [
        ProposalStatus::Pending,
        ProposalStatus::Accepted,
        ProposalStatus::Rejected,
        ProposalStatus::Superseded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProposalStatus::Pending => "pending",
            ProposalStatus::Accepted => "accepted",
            ProposalStatus::Rejected => "rejected",
            ProposalStatus::Superseded => "superseded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for ProposalStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A proposed new text of a channel's (or thread's) group.md.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GroupmdProposal {
    pub id: ProposalId,
    pub channel_id: ChannelId,
    /// The thread whose own group.md this is for; `null` for the channel's.
    pub thread_root_id: Option<MessageId>,
    /// The revision the proposer edited.
    pub base_revision: u64,
    pub text: String,
    pub summary: Option<String>,
    /// The change against the base revision (` `/`-`/`+` lines).
    pub diff: String,
    pub author_id: PrincipalId,
    pub created_at: DateTime<Utc>,
    pub status: ProposalStatus,
    pub resolved_by: Option<PrincipalId>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The revision it became, once accepted.
    pub revision: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in ProposalStatus::ALL {
            assert_eq!(ProposalStatus::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_value(s).ok(),
                Some(serde_json::Value::from(s.as_str()))
            );
        }
        assert_eq!(GroupmdMode::parse("review"), Some(GroupmdMode::Review));
        assert_eq!(GroupmdMode::parse("Review"), None);
        assert_eq!(GroupmdMode::default(), GroupmdMode::Auto);
    }
}
