//! The step of a pass that turns the current group.md and the messages since
//! the last revision into the next revision: the deterministic rules, or an
//! LLM whose whole-document answer is checked before it is written.

use octo_groupmd::{
    Document, Extraction, Member, Message, RevisionError, check_revision, extract_since,
};
use serde_json::json;
use thiserror::Error;

use crate::config::{MaintainerConfig, OpenAiMaintainer};
use crate::llm::{ChatClient, LlmError};

pub(crate) enum Maintainer {
    Rules,
    OpenAi(ChatClient),
}

/// What a pass reads.
pub(crate) struct PassInput<'a> {
    /// The channel (or thread) the document belongs to, for log lines.
    pub scope: &'a str,
    pub current: &'a str,
    pub members: &'a [Member],
    pub messages: &'a [Message],
}

impl Maintainer {
    pub fn new(config: &MaintainerConfig) -> Self {
        match config {
            MaintainerConfig::Rules => Maintainer::Rules,
            MaintainerConfig::OpenAi(c) => Maintainer::OpenAi(ChatClient::new(c.clone())),
        }
    }

    /// The next revision, or `None` when there is nothing to write: nothing
    /// changed, or the model's revision was refused (logged; nothing is posted,
    /// since people in the channel cannot act on a model's mistake). An
    /// endpoint that fails (after its retries) leaves this pass to the rules.
    pub async fn revise(&self, input: &PassInput<'_>) -> Option<Document> {
        let client = match self {
            Maintainer::Rules => return rules(input),
            // A `/groupmd` with nothing new is not worth a model call.
            Maintainer::OpenAi(_) if input.messages.is_empty() => return None,
            Maintainer::OpenAi(client) => client,
        };
        match ask(client, input).await {
            Ok(doc) => (doc.render() != input.current).then_some(doc),
            Err(
                e @ (LlmRevisionError::Refused(_)
                | LlmRevisionError::Endpoint(LlmError::TooLarge(_))),
            ) => {
                tracing::warn!(scope = input.scope, error = %e, "scribe: the model's revision is refused");
                None
            }
            Err(e) => {
                tracing::warn!(scope = input.scope, error = %e, "scribe: model unavailable; this pass uses the rules");
                rules(input)
            }
        }
    }
}

/// The model's revision of the document, checked: the step a pass and
/// [`llm_revision`] share.
async fn ask(client: &ChatClient, input: &PassInput<'_>) -> Result<Document, LlmRevisionError> {
    let answer = client.complete(SYSTEM, &prompt(input)).await?;
    Ok(check_revision(
        input.current,
        unfenced(&answer),
        input.members,
    )?)
}

/// Why [`llm_revision`] has no document.
#[derive(Debug, Error)]
pub enum LlmRevisionError {
    #[error(transparent)]
    Endpoint(#[from] LlmError),
    #[error("the model's revision is refused: {0}")]
    Refused(#[from] RevisionError),
}

/// One pass of the LLM maintainer over `messages`, with the scribe's prompt
/// and the scribe's checks, but none of its fallbacks: the model's revision of
/// `current`, or why there is none. This is how the LLM maintainer is measured
/// (`octo groupmd extract --llm-url`).
pub async fn llm_revision(
    config: &OpenAiMaintainer,
    current: &str,
    members: &[Member],
    messages: &[Message],
) -> Result<Document, LlmRevisionError> {
    let input = PassInput {
        scope: "extract",
        current,
        members,
        messages,
    };
    ask(&ChatClient::new(config.clone()), &input).await
}

fn rules(input: &PassInput<'_>) -> Option<Document> {
    let mut doc = Document::parse(input.current);
    let found = extract_guarded(input.members, input.messages, &doc)?;
    doc.apply(&found).then_some(doc)
}

/// The rules over `messages`. A rule that trips over unusual text costs this
/// pass (logged), never the scribe's task.
pub(crate) fn extract_guarded(
    members: &[Member],
    messages: &[Message],
    doc: &Document,
) -> Option<Extraction> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        extract_since(members, messages, doc)
    }))
    .map_err(|_| tracing::error!("the group.md rules failed on these messages; pass skipped"))
    .ok()
}

const SYSTEM: &str = "You keep group.md, a team channel's living document, current. \
You get the current document and the chat messages posted since its last revision, \
and you answer with the whole revised document and nothing else: no code fences, no comments.

Rules:
- The standard sections are ## Purpose, ## Decisions, ## Working agreements, ## Open questions, ## Action items and ## Glossary. Keep every one of their headings.
- Everything outside the standard sections (the title and text before the first section, and any section people added) must stay exactly as it is, in its place.
- Decisions and open questions are bullets: `- text (from #MESSAGE_ID)`.
- Action items are checkboxes: `- [ ] text (@owner, from #MESSAGE_ID)`, or `(unassigned, from #MESSAGE_ID)` when nobody took it. Mark an item done as `- [x]` when the messages say it is done (a reply saying so, a ✅ reaction on it).
- An owner is one of the members listed; never invent one.
- Add what the messages decided, asked and assigned; remove open questions they answered; replace a decision a later one changed. Keep people's wording of existing items.
- If the messages change nothing, answer with the document unchanged.";

/// The user message: the members, the current document, the new messages.
fn prompt(input: &PassInput<'_>) -> String {
    let members: Vec<String> = input
        .members
        .iter()
        .map(|m| {
            if m.agent {
                format!("{} (agent)", m.name)
            } else {
                m.name.clone()
            }
        })
        .collect();
    let messages: Vec<_> = input
        .messages
        .iter()
        .map(|m| {
            json!({
                "id": m.id,
                "link": format!("/api/v1/messages/{}", m.id),
                "author": m.author,
                "text": m.text,
                "thread_id": m.thread_id,
                "reactions": m.reactions,
            })
        })
        .collect();
    let messages = serde_json::to_string_pretty(&messages).unwrap_or_default();
    format!(
        "Members: {}\n\nThe current group.md:\n<<<\n{}\n>>>\n\nThe new messages, oldest first (thread_id: the root message of a reply's thread):\n{messages}\n",
        members.join(", "),
        input.current,
    )
}

/// A model's answer wrapped in one Markdown code fence, unwrapped.
fn unfenced(answer: &str) -> &str {
    let trimmed = answer.trim();
    let Some(rest) = trimmed.strip_prefix("```") else {
        return answer;
    };
    let Some((_lang, body)) = rest.split_once('\n') else {
        return answer;
    };
    body.strip_suffix("```").unwrap_or(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fenced_answer_is_unwrapped_and_a_bare_one_kept() {
        assert_eq!(unfenced("```markdown\n## A\n- b\n```\n"), "## A\n- b\n");
        assert_eq!(unfenced("## A\n- b\n"), "## A\n- b\n");
        assert_eq!(unfenced("```\n## A\n"), "```\n## A\n");
    }

    #[test]
    fn the_prompt_holds_the_document_the_members_and_the_messages() {
        let members = [Member {
            name: "ana".into(),
            agent: false,
        }];
        let messages = [Message {
            id: "m1".into(),
            author: "ana".into(),
            text: "Decision: tea on Fridays".into(),
            thread_id: None,
            reactions: vec![],
        }];
        let text = prompt(&PassInput {
            scope: "c",
            current: octo_groupmd::TEMPLATE,
            members: &members,
            messages: &messages,
        });
        assert!(text.contains("Members: ana"), "{text}");
        assert!(text.contains(octo_groupmd::TEMPLATE), "{text}");
        assert!(text.contains("\"id\": \"m1\""), "{text}");
        assert!(text.contains("tea on Fridays"), "{text}");
    }
}
