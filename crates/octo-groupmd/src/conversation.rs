//! The conversation file format of the group.md evaluation sets
//! (`{"channel", "members", "messages"}`), and the JSON the extract command prints.

use serde::{Deserialize, Serialize};

use crate::document::{Document, SectionKind};
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

impl Output {
    /// The items a group.md holds in its Decisions, Action items and Open
    /// questions sections, as `extract` prints them: how a document written by
    /// someone else (the LLM maintainer) is scored like the rules' items. An
    /// action item without a checkbox counts as not done; `unassigned` has no
    /// owner.
    pub fn from_document(doc: &Document) -> Self {
        let texts = |kind| doc.items(kind).into_iter().map(|i| i.text).collect();
        Output {
            decisions: texts(SectionKind::Decisions),
            action_items: doc
                .items(SectionKind::ActionItems)
                .into_iter()
                .map(|i| OutputAction {
                    owner: i.owner,
                    text: i.text,
                    done: i.done.unwrap_or(false),
                })
                .collect(),
            open_questions: texts(SectionKind::OpenQuestions),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_gives_the_items_of_its_three_sections() {
        let doc = Document::parse(
            "# Garden\n\nNotes kept by hand.\n\n## Purpose\n- Keep the garden\n\n## Decisions\n\
             - The gate is locked at 9pm (from #1)\n\n## Working agreements\n\n## Open questions\n\
             - Who has the spare key? (from #4)\n\n## Action items\n\
             - [x] Oil the gate hinges (@Bo, from #2)\n- [ ] Buy a padlock (unassigned, from #5)\n\
             - Water the beds\n\n## Glossary\n",
        );
        let out = serde_json::to_value(Output::from_document(&doc)).unwrap();
        assert_eq!(
            out,
            serde_json::json!({
                "decisions": ["The gate is locked at 9pm"],
                "action_items": [
                    {"owner": "Bo", "text": "Oil the gate hinges", "done": true},
                    {"owner": null, "text": "Buy a padlock", "done": false},
                    {"owner": null, "text": "Water the beds", "done": false}
                ],
                "open_questions": ["Who has the spare key?"]
            })
        );
    }
}
