//! `octo groupmd extract`: runs a group.md maintainer over a conversation file
//! and prints what it found: the deterministic rules by default, or, with
//! `--llm-url`, one pass of the LLM maintainer from the empty template (the
//! scribe's prompt and checks, no fallback to the rules, so that what is
//! printed is the model's).

use std::path::Path;

use anyhow::Context;
use octo_groupmd::{Conversation, Member, Message, Output, TEMPLATE, extract};
use octo_scribe::{OpenAiMaintainer, llm_revision};

/// Where the LLM maintainer is, for `--llm-url`.
pub struct LlmArgs {
    pub base_url: String,
    pub model: String,
    /// The variable holding the API key, if the endpoint wants one.
    pub api_key_env: Option<String>,
}

pub async fn run_extract(input: &Path, llm: Option<LlmArgs>) -> anyhow::Result<()> {
    let (members, messages) = read(input)?;
    let out = match llm {
        None => Output::from(extract(&members, &messages)),
        Some(llm) => Output::from_document(&by_llm(llm, &members, &messages).await?),
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

fn read(input: &Path) -> anyhow::Result<(Vec<Member>, Vec<Message>)> {
    let raw =
        std::fs::read_to_string(input).with_context(|| format!("reading {}", input.display()))?;
    let conversation = Conversation::from_json(&raw)
        .with_context(|| format!("{} is not a conversation file", input.display()))?;
    Ok(conversation.into_parts())
}

async fn by_llm(
    llm: LlmArgs,
    members: &[Member],
    messages: &[Message],
) -> anyhow::Result<octo_groupmd::Document> {
    let mut config = OpenAiMaintainer::new(llm.base_url, llm.model);
    if let Some(var) = &llm.api_key_env {
        config.api_key =
            Some(std::env::var(var).with_context(|| format!("--api-key-env: {var} is not set"))?);
    }
    llm_revision(&config, TEMPLATE, members, messages)
        .await
        .context("the LLM maintainer gave no usable group.md")
}
