//! `octo groupmd extract`: runs the deterministic maintainer over a conversation
//! file and prints what it found.

use std::path::Path;

use anyhow::Context;
use octo_groupmd::{Conversation, Output, extract};

pub fn run_extract(input: &Path) -> anyhow::Result<()> {
    let raw =
        std::fs::read_to_string(input).with_context(|| format!("reading {}", input.display()))?;
    let conversation = Conversation::from_json(&raw)
        .with_context(|| format!("{} is not a conversation file", input.display()))?;
    let (members, messages) = conversation.into_parts();
    let out = Output::from(extract(&members, &messages));
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
