//! The maintainer reads whatever people type. Characters whose lowercase has
//! another length in UTF-8 (Turkish `İ`, German `ẞ`) once shifted the offsets
//! the rules cut text at, and the extractor panicked on about a quarter of the
//! held-out conversations once such letters were sprinkled in. Every held-out
//! conversation is read here with them, in every position a rule may cut at.

use octo_groupmd::{Conversation, Output, extract};
use serde_json::Value;
use std::path::Path;

/// Letters whose lowercase is longer (`İ` → `i̇`), shorter (`ẞ` → `ß`, the
/// Kelvin sign → `k`), or
/// context-dependent (`Σ` at a word's end).
const SPRINKLES: &[&str] = &["İ", "ẞ", "ΣΑΣ", "Ⱥ", "\u{212A}", "😵"];

/// Puts one of the letters before or after some words, deterministically.
fn sprinkle(text: &str, round: usize) -> String {
    text.split(' ')
        .enumerate()
        .map(|(i, word)| {
            let s = SPRINKLES[(i + round) % SPRINKLES.len()];
            match (i * 7 + round * 3) % 5 {
                0 => format!("{s}{word}"),
                1 => format!("{word}{s}"),
                _ => word.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn case_changing_letters_anywhere_never_crash_the_extractor() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/heldout");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("held-out dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 36, "the held-out set is there");
    let mut items = 0;
    for path in &files {
        let raw = std::fs::read_to_string(path).expect("read");
        for round in 0..SPRINKLES.len() {
            let mut conv: Value = serde_json::from_str(&raw).expect("json");
            for m in conv["messages"].as_array_mut().expect("messages") {
                let text = m["text"].as_str().unwrap_or_default();
                m["text"] = Value::String(sprinkle(text, round));
            }
            let (members, messages) = Conversation::from_json(&conv.to_string())
                .expect("conversation")
                .into_parts();
            let out = Output::from(extract(&members, &messages));
            items += out.decisions.len() + out.action_items.len();
        }
    }
    // The rules still find things in the altered text.
    assert!(items > files.len() * SPRINKLES.len(), "{items} items");
}
