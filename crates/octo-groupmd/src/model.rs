//! What the maintainer reads (messages) and what it produces (items).

use serde::{Deserialize, Serialize};

/// One reaction on a message.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct Reaction {
    pub emoji: String,
    pub by: String,
}

/// A chat message as the maintainer sees it, in channel order.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct Message {
    pub id: String,
    pub author: String,
    pub text: String,
    /// The root message's id for a thread reply.
    #[serde(default)]
    pub thread_id: Option<String>,
    #[serde(default)]
    pub reactions: Vec<Reaction>,
}

/// A channel member: the maintainer needs names (owners) and who is an agent
/// (a request to an agent is work only when it changes something outside the chat).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    #[serde(default)]
    pub agent: bool,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Decision {
    pub text: String,
    /// The message the decision was read from.
    pub source: String,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ActionItem {
    /// `None` when nobody took the work.
    pub owner: Option<String>,
    pub text: String,
    pub done: bool,
    pub source: String,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Question {
    pub text: String,
    pub source: String,
}

/// The maintainer's reading of a conversation: final decisions, action items and
/// the questions still open at the end.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Extraction {
    pub decisions: Vec<Decision>,
    pub action_items: Vec<ActionItem>,
    pub open_questions: Vec<Question>,
    /// Questions the conversation answered (so a document can drop them).
    #[serde(skip)]
    pub answered_questions: Vec<Question>,
    /// Decisions a later one replaced (so a document can drop them).
    #[serde(skip)]
    pub superseded_decisions: Vec<Decision>,
}
