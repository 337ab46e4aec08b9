//! What a channel says about itself, for the recogniser and the corrector:
//! a lexicon of its own words (identifiers, product names, acronyms, member
//! names) weighted by frequency and recency, with pronunciations, and a small
//! language model of its recent messages.

use crate::lm::{NgramModel, tokens};
use crate::phones::{Pron, Pronouncer, render};
use serde::Deserialize;

/// How much a member's or glossary entry's name weighs, in message mentions.
const MEMBER_WEIGHT: f64 = 3.0;
const GLOSSARY_WEIGHT: f64 = 2.0;
/// At most this many lexicon terms: the prompt and dictionary stay small.
pub const MAX_TERMS: usize = 300;
/// The biasing prompt for OpenAI-compatible engines stays under this many bytes.
pub const MAX_PROMPT_BYTES: usize = 800;

/// The raw material, as the server (or `octo eval voice`) loads it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ChannelInput {
    /// Display names of the channel's humans and agents.
    #[serde(default)]
    pub members: Vec<String>,
    /// Recent message texts, oldest first.
    #[serde(default)]
    pub messages: Vec<String>,
    /// Channel terms from the topic or `group.md` glossary.
    #[serde(default)]
    pub glossary: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Term {
    /// As the channel writes it: `node_exporter`, `Grafana`, `SLO`.
    pub written: String,
    /// The recogniser's spelling: lowercase.
    pub key: String,
    pub weight: f64,
    pub prons: Vec<Pron>,
    pub member: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ChannelContext {
    pub terms: Vec<Term>,
    pub lm: NgramModel,
}

/// Whether a written word is the channel's own rather than ordinary English.
fn is_own_word(word: &str, pronouncer: &Pronouncer) -> bool {
    let has_letter = word.chars().any(char::is_alphabetic);
    if !has_letter || word.len() < 2 {
        return false;
    }
    let symbolic = word.chars().any(|c| !c.is_alphabetic());
    let inner_caps = word.chars().skip(1).any(char::is_uppercase);
    symbolic || inner_caps || !pronouncer.in_dict(word)
}

/// A written word with surrounding punctuation removed, identifiers kept.
fn clean(word: &str) -> &str {
    word.trim_matches(|c: char| !(c.is_alphanumeric() || c == '_'))
}

impl ChannelContext {
    pub fn build(input: &ChannelInput, pronouncer: &Pronouncer) -> ChannelContext {
        let mut lm = NgramModel::default();
        let mut found: Vec<(String, f64, bool)> = Vec::new();
        let mut note = |word: &str, weight: f64, member: bool| {
            let key = word.to_lowercase();
            match found.iter_mut().find(|(w, _, _)| w.to_lowercase() == key) {
                Some(entry) => {
                    entry.1 += weight;
                    entry.2 |= member;
                }
                None => found.push((word.to_string(), weight, member)),
            }
        };
        let n = input.messages.len().max(1) as f64;
        for (i, text) in input.messages.iter().enumerate() {
            // Recent messages count up to twice as much as the oldest.
            let recency = 1.0 + i as f64 / n;
            let body = strip_author(text, &input.members);
            lm.add(&tokens(body), recency);
            for raw in body.split_whitespace() {
                if raw.contains("://") {
                    continue;
                }
                let word = clean(raw.trim_start_matches('@'));
                if is_own_word(word, pronouncer) {
                    note(word, recency, false);
                }
            }
        }
        for name in &input.members {
            for part in name.split_whitespace() {
                let word = clean(part);
                if !word.is_empty() {
                    note(word, MEMBER_WEIGHT, true);
                }
            }
        }
        for entry in &input.glossary {
            let word = clean(entry.trim());
            if !word.is_empty() && !word.contains(' ') {
                note(word, GLOSSARY_WEIGHT, false);
                lm.add(&tokens(word), 0.5);
            }
        }
        found.sort_by(|a, b| b.1.total_cmp(&a.1));
        found.truncate(MAX_TERMS);
        let terms = found
            .into_iter()
            .map(|(written, weight, member)| {
                let key = written.to_lowercase();
                let mut prons: Vec<Pron> = pronouncer.lookup(&key).unwrap_or_default().to_vec();
                for p in pronouncer.generate(&written) {
                    if !prons.contains(&p) {
                        prons.push(p);
                    }
                }
                Term {
                    written,
                    key,
                    weight,
                    prons,
                    member,
                }
            })
            .filter(|t| !t.prons.is_empty())
            .collect();
        ChannelContext { terms, lm }
    }

    pub fn term(&self, key: &str) -> Option<&Term> {
        self.terms.iter().find(|t| t.key == key)
    }

    pub fn members(&self) -> impl Iterator<Item = &Term> {
        self.terms.iter().filter(|t| t.member)
    }

    /// The biasing prompt for OpenAI-compatible engines: the heaviest terms.
    pub fn prompt(&self) -> String {
        let mut out = String::from("Vocabulary:");
        for t in &self.terms {
            if out.len() + t.written.len() + 2 > MAX_PROMPT_BYTES {
                break;
            }
            out.push(' ');
            out.push_str(&t.written);
            out.push(',');
        }
        out.pop();
        out
    }

    /// Extra dictionary lines (`word PH ON ES`, `word(2) …`) for the recogniser.
    pub fn dictionary_lines(&self) -> String {
        let mut out = String::new();
        for t in &self.terms {
            for (i, p) in t.prons.iter().enumerate() {
                if i == 0 {
                    out.push_str(&format!("{} {}\n", t.key, render(p)));
                } else {
                    out.push_str(&format!("{}({}) {}\n", t.key, i + 1, render(p)));
                }
            }
        }
        out
    }
}

/// Messages arrive as "Name: text" from some sources; the name is not speech.
fn strip_author<'a>(text: &'a str, members: &[String]) -> &'a str {
    if let Some((head, rest)) = text.split_once(": ")
        && members.iter().any(|m| m == head)
    {
        return rest;
    }
    text
}
