//! The conversation file format of the group.md evaluation sets
//! (`{"channel", "members", "messages"}`), and the JSON the extract command prints.

use serde::{Deserialize, Serialize};

use crate::model::{Extraction, Member, Message, Reaction};

/// A conversation file. Only these fields are read; anything else in the file
/// (notably a scorer's `expected` answer key) is skipped unread.
#[derive(Deserialize)]
pub struct Conversation {
    #[serde(default)]
    members: Vec<ConversationMember>,
    messages: Vec<ConversationMessage>,
}

#[derive(Deserialize)]
struct ConversationMember {
    name: String,
    #[serde(default)]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct ConversationMessage {
    id: Id,
    author: String,
    text: String,
    #[serde(default)]
    thread_id: Option<Id>,
    #[serde(default)]
    reactions: Vec<Reaction>,
}

/// Message ids may be numbers or strings.
#[derive(Deserialize)]
#[serde(untagged)]
enum Id {
    Number(u64),
    Text(String),
}

impl Id {
    fn into_string(self) -> String {
        match self {
            Id::Number(n) => n.to_string(),
            Id::Text(s) => s,
        }
    }
}

#[derive(Serialize)]
pub struct Output {
    pub decisions: Vec<String>,
    pub action_items: Vec<OutputAction>,
    pub open_questions: Vec<String>,
}

#[derive(Serialize)]
pub struct OutputAction {
    pub owner: Option<String>,
    pub text: String,
    pub done: bool,
}

impl Conversation {
    /// Parses a conversation file. Fields other than `members` and `messages`
    /// (such as a scorer's `expected` answer key) are skipped, never kept.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    pub fn into_parts(self) -> (Vec<Member>, Vec<Message>) {
        let members = self
            .members
            .into_iter()
            .map(|m| Member {
                agent: m.kind.as_deref() == Some("agent"),
                name: m.name,
            })
            .collect();
        let messages = self
            .messages
            .into_iter()
            .map(|m| Message {
                id: m.id.into_string(),
                author: m.author,
                text: m.text,
                thread_id: m.thread_id.map(Id::into_string),
                reactions: m.reactions,
            })
            .collect();
        (members, messages)
    }
}

impl From<Extraction> for Output {
    fn from(found: Extraction) -> Self {
        Output {
            decisions: found.decisions.into_iter().map(|d| d.text).collect(),
            action_items: found
                .action_items
                .into_iter()
                .map(|a| OutputAction {
                    owner: a.owner,
                    text: a.text,
                    done: a.done,
                })
                .collect(),
            open_questions: found.open_questions.into_iter().map(|q| q.text).collect(),
        }
    }
}
