//! group.md review mode: a channel's mode, and proposals to accept or reject.

use crate::{Client, Groupmd, Result};
use octo_core::ChannelId;
use octo_core::ProposalId;
use octo_core::groupmd::{GroupmdMode, GroupmdProposal};
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
struct Settings {
    mode: GroupmdMode,
}

#[derive(Deserialize)]
struct ProposalList {
    proposals: Vec<GroupmdProposal>,
}

impl Client {
    /// The channel's group.md mode (`auto` unless someone set `review`).
    pub async fn groupmd_mode(&self, channel: &ChannelId) -> Result<GroupmdMode> {
        let s: Settings = self
            .call(
                Method::GET,
                &format!("/channels/{channel}/groupmd/settings"),
                None,
            )
            .await?;
        Ok(s.mode)
    }

    /// One revision of the channel's group.md (0 is the template).
    pub async fn groupmd_revision(&self, channel: &ChannelId, revision: u64) -> Result<Groupmd> {
        self.call(
            Method::GET,
            &format!("/channels/{channel}/groupmd/revisions/{revision}"),
            None,
        )
        .await
    }

    /// Sets the mode (needs the right to manage the channel).
    pub async fn set_groupmd_mode(
        &self,
        channel: &ChannelId,
        mode: GroupmdMode,
    ) -> Result<GroupmdMode> {
        let s: Settings = self
            .call(
                Method::PUT,
                &format!("/channels/{channel}/groupmd/settings"),
                Some(&json!({ "mode": mode })),
            )
            .await?;
        Ok(s.mode)
    }

    /// Proposes `text` as the channel's group.md, written on revision `base`.
    /// The caller's own older pending proposal is superseded; proposing the
    /// same text again returns the pending one.
    pub async fn propose_groupmd(
        &self,
        channel: &ChannelId,
        base: u64,
        text: &str,
        summary: Option<&str>,
    ) -> Result<GroupmdProposal> {
        self.call(
            Method::POST,
            &format!("/channels/{channel}/groupmd/proposals"),
            Some(&json!({ "text": text, "base_revision": base, "summary": summary })),
        )
        .await
    }

    /// The channel's proposals, newest first: `status` is `pending`,
    /// `accepted`, `rejected`, `superseded` or `all`.
    pub async fn groupmd_proposals(
        &self,
        channel: &ChannelId,
        status: &str,
    ) -> Result<Vec<GroupmdProposal>> {
        let list: ProposalList = self
            .call(
                Method::GET,
                &format!("/channels/{channel}/groupmd/proposals?status={status}"),
                None,
            )
            .await?;
        Ok(list.proposals)
    }

    /// Accepts a pending proposal (needs `edit_groupmd`): it becomes the next
    /// revision. A conflicting newer revision answers `stale_revision`.
    pub async fn accept_groupmd_proposal(
        &self,
        channel: &ChannelId,
        id: &ProposalId,
    ) -> Result<GroupmdProposal> {
        self.call(
            Method::POST,
            &format!("/channels/{channel}/groupmd/proposals/{id}/accept"),
            Some(&json!({})),
        )
        .await
    }

    pub async fn reject_groupmd_proposal(
        &self,
        channel: &ChannelId,
        id: &ProposalId,
    ) -> Result<GroupmdProposal> {
        self.call(
            Method::POST,
            &format!("/channels/{channel}/groupmd/proposals/{id}/reject"),
            Some(&json!({})),
        )
        .await
    }
}
