//! Chat messages as the maintainer reads them: authors and reactors by handle.

use std::collections::HashMap;

use octo_core::PrincipalId;
use octo_core::model::{Message, Principal, PrincipalKind};

/// Handles of the org's members, and who is an agent.
#[derive(Default)]
pub(crate) struct Names {
    by_id: HashMap<PrincipalId, Principal>,
}

impl Names {
    pub fn new(members: Vec<Principal>) -> Self {
        Self {
            by_id: members.into_iter().map(|p| (p.id.clone(), p)).collect(),
        }
    }

    pub fn knows(&self, id: &PrincipalId) -> bool {
        self.by_id.contains_key(id)
    }

    fn name(&self, id: &PrincipalId) -> String {
        self.by_id
            .get(id)
            .map_or_else(|| id.as_str().to_owned(), |p| p.name.clone())
    }

    pub fn members(&self) -> Vec<octo_groupmd::Member> {
        self.by_id
            .values()
            .map(|p| octo_groupmd::Member {
                name: p.name.clone(),
                agent: p.kind == PrincipalKind::Agent,
            })
            .collect()
    }

    pub fn message(&self, m: &Message) -> octo_groupmd::Message {
        octo_groupmd::Message {
            id: m.id.as_str().to_owned(),
            author: self.name(&m.author_id),
            text: m.text.clone(),
            thread_id: m.thread_id.as_ref().map(|t| t.as_str().to_owned()),
            reactions: m
                .reactions
                .iter()
                .flat_map(|r| {
                    r.principal_ids.iter().map(|by| octo_groupmd::Reaction {
                        emoji: r.emoji.clone(),
                        by: self.name(by),
                    })
                })
                .collect(),
        }
    }
}
