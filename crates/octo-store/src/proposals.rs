//! Records of group.md review mode: proposals and how they are resolved.

use crate::{GroupmdRevision, GroupmdScope, NewGroupmdRevision};
use octo_core::groupmd::GroupmdProposal;
use octo_core::*;

/// A proposed text for a scope's group.md.
#[derive(Debug, Clone)]
pub struct NewGroupmdProposal {
    pub id: ProposalId,
    pub scope: GroupmdScope,
    pub base_revision: u64,
    pub text: String,
    pub summary: Option<String>,
    /// The change against the base revision, as the caller rendered it.
    pub diff: String,
    pub author: PrincipalId,
}

/// What [`crate::Store::propose_groupmd`] did.
#[derive(Debug, Clone)]
pub struct Proposed {
    pub proposal: GroupmdProposal,
    /// False when the author already had this very text pending: that one is
    /// returned, and nothing is appended.
    pub created: bool,
    /// `groupmd.proposal_resolved` for each of the author's older pending
    /// proposals it superseded, then `groupmd.proposed`.
    pub events: Vec<Event>,
}

/// How a pending proposal is resolved.
#[derive(Debug, Clone)]
pub enum ProposalOutcome {
    /// Store this revision (its scope must be the proposal's; compare-and-swap
    /// on its base like any write) and mark the proposal accepted.
    Accept(NewGroupmdRevision),
    Reject,
}

#[derive(Debug, Clone)]
pub struct ProposalResolution {
    pub proposal: ProposalId,
    pub resolver: PrincipalId,
    pub outcome: ProposalOutcome,
}

#[derive(Debug, Clone)]
pub struct Resolved {
    pub proposal: GroupmdProposal,
    /// The revision an accepted proposal became.
    pub revision: Option<GroupmdRevision>,
    /// `groupmd.updated` (when accepted), then `groupmd.proposal_resolved`.
    pub events: Vec<Event>,
}

/// Event payloads of review mode, built here so every backend writes the same.
pub mod proposal_payload {
    use crate::GroupmdRevision;
    use octo_core::groupmd::GroupmdProposal;
    use serde_json::{Value, json};

    pub fn proposed(p: &GroupmdProposal) -> Value {
        json!({
            "proposal_id": p.id,
            "thread_id": p.thread_root_id,
            "base_revision": p.base_revision,
            "author_id": p.author_id,
            "summary": p.summary,
        })
    }

    pub fn resolved(p: &GroupmdProposal) -> Value {
        json!({
            "proposal_id": p.id,
            "thread_id": p.thread_root_id,
            "status": p.status,
            "author_id": p.author_id,
            "resolved_by": p.resolved_by,
            "revision": p.revision,
        })
    }

    /// `groupmd.updated` of an accepted proposal: the revision is the
    /// proposer's text; who accepted it is said too.
    pub fn accepted(r: &GroupmdRevision, p: &GroupmdProposal) -> Value {
        let mut v = crate::payload::groupmd_updated(r);
        if let Some(map) = v.as_object_mut() {
            map.insert("proposal_id".into(), json!(p.id));
            map.insert("accepted_by".into(), json!(p.resolved_by));
        }
        v
    }
}
