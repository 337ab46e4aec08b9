//! A pass in a channel whose group.md is in review mode: the scribe proposes
//! its change instead of writing it. It builds on its own pending proposal
//! (so a later pass adds to it rather than dropping it) and the server
//! supersedes that older one, so at most one of the scribe's waits per
//! channel.

use octo_client::{ClientError, SendOptions};
use octo_core::ChannelId;
use octo_groupmd::Document;

use super::{Scribe, ScribeError};
use crate::maintainer::PassInput;

impl Scribe {
    pub(super) async fn propose_pass(&mut self, channel: &ChannelId) -> Result<(), ScribeError> {
        let pending = std::mem::take(&mut self.state(channel).pending);
        if let Err(e) = self.propose(channel, &pending).await {
            // Keep the messages for the next pass.
            let state = self.state(channel);
            let newer = std::mem::take(&mut state.pending);
            state.pending = pending;
            state.pending.extend(newer);
            return Err(e);
        }
        Ok(())
    }

    async fn propose(
        &mut self,
        channel: &ChannelId,
        pending: &[octo_core::model::Message],
    ) -> Result<(), ScribeError> {
        let members = self.names.members();
        let messages: Vec<_> = pending.iter().map(|m| self.names.message(m)).collect();
        let current = self.client.groupmd(channel).await?;
        let mine = self
            .client
            .groupmd_proposals(channel, "pending")
            .await?
            .into_iter()
            .find(|p| p.author_id == self.me);
        let (base, start) = match &mine {
            Some(p) => (p.base_revision, p.text.clone()),
            None => (current.revision, current.text.clone()),
        };
        let before = Document::parse(&start);
        // The same maintainer (rules or LLM, with its checks) as an auto pass.
        let input = PassInput {
            scope: channel.as_str(),
            current: &start,
            members: &members,
            messages: &messages,
        };
        let Some(after) = self.maintainer.revise(&input).await else {
            return Ok(());
        };
        // The proposal's summary is its whole change against its base.
        let base_text = if base == current.revision {
            current.text.clone()
        } else {
            self.client.groupmd_revision(channel, base).await?.text
        };
        let whole = crate::note::summary(&Document::parse(&base_text), &after);
        let proposed = match self
            .client
            .propose_groupmd(channel, base, &after.render(), whole.as_deref())
            .await
        {
            Ok(p) => p,
            // What we read is already in the document.
            Err(ClientError::Api { code, .. }) if code == "unchanged" => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        if let Some(summary) = crate::note::summary(&before, &after) {
            let text = format!(
                "group.md change proposed: {summary} (proposal {}: /api/v1/channels/{channel}/groupmd/proposals; \
                 members who may edit group.md accept or reject it in the group.md panel)",
                proposed.id
            );
            self.client
                .send(channel, &text, SendOptions::default())
                .await?;
        }
        Ok(())
    }
}
