//! The correction pass, after any engine: word n-grams of the transcript that
//! sound like one of the channel's terms become that term, when the channel's
//! language model does not object; spoken symbols and mentions become what
//! the channel writes. Every change is reported.

use crate::context::{ChannelContext, Term};
use crate::lm::tokens;
use crate::phones::{Pron, Pronouncer, is_vowel};
use serde::Serialize;

/// Longest spoken form of one term, in words ("node underscore exporter").
const MAX_WINDOW: usize = 5;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Correction {
    /// Character offsets of `after` in the corrected text.
    pub start: usize,
    pub end: usize,
    pub before: String,
    pub after: String,
    /// `sounds_like`, `case`, `spoken_symbol` or `mention`.
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Corrected {
    pub text: String,
    pub corrections: Vec<Correction>,
    /// Member names mentioned (`@Name` in the text).
    pub mentions: Vec<String>,
}

struct Word {
    text: String,
    /// Set when this word is the result of a correction.
    change: Option<(String, &'static str)>,
}

/// Phone edit distance where similar sounds are cheap to confuse.
fn distance(a: &[u8], b: &[u8]) -> f64 {
    let sub = |x: u8, y: u8| {
        if x == y {
            0.0
        } else if is_vowel(x) && is_vowel(y) {
            0.5
        } else if is_vowel(x) != is_vowel(y) {
            1.0
        } else {
            0.75
        }
    };
    let indel = |x: u8| if is_vowel(x) { 0.7 } else { 0.9 };
    let mut prev: Vec<f64> = std::iter::once(0.0)
        .chain(b.iter().scan(0.0, |acc, y| {
            *acc += indel(*y);
            Some(*acc)
        }))
        .collect();
    for x in a {
        let mut cur = vec![prev[0] + indel(*x)];
        for (j, y) in b.iter().enumerate() {
            let v = (prev[j] + sub(*x, *y))
                .min(prev[j + 1] + indel(*x))
                .min(cur[j] + indel(*y));
            cur.push(v);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// How far apart two pronunciations are, 0 (same) to about 1.
pub fn phone_distance(a: &[u8], b: &[u8]) -> f64 {
    let longest = a.len().max(b.len()).max(1) as f64;
    distance(a, b) / longest
}

/// Short terms must match closely: two wrong phones in four is a new word.
fn threshold(phones: usize) -> f64 {
    match phones {
        0..=3 => 0.12,
        4..=5 => 0.2,
        6..=8 => 0.26,
        _ => 0.3,
    }
}

struct Candidate {
    start: usize,
    len: usize,
    term: usize,
    score: f64,
}

pub fn correct(hypothesis: &str, context: &ChannelContext, pronouncer: &Pronouncer) -> Corrected {
    let mut words: Vec<Word> = hypothesis
        .split_whitespace()
        .map(|w| Word {
            text: w.to_string(),
            change: None,
        })
        .collect();
    join_spoken_symbols(&mut words);
    sound_alikes(&mut words, context, pronouncer);
    restore_case(&mut words, context);
    let mentions = spoken_mentions(&mut words, context);
    render(words, mentions)
}

fn key_of(word: &str) -> String {
    word.trim_matches(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .to_lowercase()
}

fn sound_alikes(words: &mut Vec<Word>, context: &ChannelContext, pronouncer: &Pronouncer) {
    if context.terms.is_empty() || words.is_empty() {
        return;
    }
    let keys: Vec<String> = words.iter().map(|w| key_of(&w.text)).collect();
    let prons: Vec<Pron> = keys
        .iter()
        .map(|k| match context.term(k) {
            Some(t) => t.prons.first().cloned().unwrap_or_default(),
            None => pronouncer.first(k),
        })
        .collect();
    let sentence: Vec<String> = tokens(&keys.join(" "));
    let base_score = context.lm.score(&sentence);
    let mut candidates = Vec::new();
    for start in 0..words.len() {
        for len in 1..=MAX_WINDOW.min(words.len() - start) {
            let window = &keys[start..start + len];
            // A word the channel already uses is trusted as heard.
            if window
                .iter()
                .any(|w| w.is_empty() || context.term(w).is_some())
            {
                break;
            }
            let heard: Pron = prons[start..start + len].concat();
            for (ti, term) in context.terms.iter().enumerate() {
                // A window must need every word it spans: if the term sounds
                // as close without its first or last word, that word stays.
                if len > 1 {
                    let full = best_distance(&heard, term);
                    let without_first: Pron = prons[start + 1..start + len].concat();
                    let without_last: Pron = prons[start..start + len - 1].concat();
                    if best_distance(&without_first, term) <= full
                        || best_distance(&without_last, term) <= full
                    {
                        continue;
                    }
                }
                if let Some(score) =
                    candidate_score(&heard, window, term, context, &keys, start, base_score)
                {
                    candidates.push(Candidate {
                        start,
                        len,
                        term: ti,
                        score,
                    });
                }
            }
        }
    }
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut taken = vec![false; words.len()];
    let mut chosen: Vec<&Candidate> = Vec::new();
    for c in &candidates {
        if taken[c.start..c.start + c.len].iter().any(|t| *t) {
            continue;
        }
        taken[c.start..c.start + c.len]
            .iter_mut()
            .for_each(|t| *t = true);
        chosen.push(c);
    }
    // Apply from the right so earlier indexes stay valid.
    chosen.sort_by_key(|c| std::cmp::Reverse(c.start));
    for c in chosen {
        let term = &context.terms[c.term];
        let before: Vec<String> = words[c.start..c.start + c.len]
            .iter()
            .map(|w| w.text.clone())
            .collect();
        let (lead, _) = punctuation(&before[0]);
        let (_, trail) = punctuation(&before[before.len() - 1]);
        let replacement = Word {
            text: format!("{lead}{}{trail}", term.written),
            change: Some((before.join(" "), "sounds_like")),
        };
        words.splice(c.start..c.start + c.len, [replacement]);
    }
}

fn best_distance(heard: &[u8], term: &Term) -> f64 {
    term.prons
        .iter()
        .map(|p| phone_distance(heard, p))
        .fold(f64::INFINITY, f64::min)
}

fn candidate_score(
    heard: &[u8],
    window: &[String],
    term: &Term,
    context: &ChannelContext,
    keys: &[String],
    start: usize,
    base_score: f64,
) -> Option<f64> {
    if window.len() == 1 && window[0] == term.key {
        return None;
    }
    let best = term
        .prons
        .iter()
        .map(|p| (phone_distance(heard, p), p.len()))
        .min_by(|a, b| a.0.total_cmp(&b.0))?;
    if best.0 > threshold(best.1) {
        return None;
    }
    // The channel's language model decides between the heard words and the
    // term: ordinary words the channel itself uses in this spot stay.
    let mut replaced: Vec<String> = keys[..start].to_vec();
    replaced.push(term.key.clone());
    replaced.extend_from_slice(&keys[start + window.len()..]);
    let with = context.lm.score(&tokens(&replaced.join(" ")));
    let lm_gain = with - base_score;
    let heard_is_channel_word = window.iter().all(|w| context.lm.count(w) >= 1.0);
    if heard_is_channel_word && lm_gain < 1.0 {
        return None;
    }
    if lm_gain < -0.5 {
        return None;
    }
    Some((1.0 - best.0) * 3.0 + 0.2 * lm_gain.min(5.0) + 0.1 * term.weight.ln_1p())
}

fn punctuation(word: &str) -> (String, String) {
    let lead: String = word
        .chars()
        .take_while(|c| !(c.is_alphanumeric() || *c == '_' || *c == '@'))
        .collect();
    let trail: String = word
        .chars()
        .rev()
        .take_while(|c| !(c.is_alphanumeric() || *c == '_'))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    (lead, trail)
}

/// "user underscore i d" → `user_id`: a spoken underscore joins its
/// neighbours; a run of single letters after it is one word ("i d" → "id").
fn join_spoken_symbols(words: &mut Vec<Word>) {
    let mut i = 1;
    while i + 1 < words.len() {
        if key_of(&words[i].text) != "underscore" {
            i += 1;
            continue;
        }
        let mut end = i + 2;
        let mut right = key_of(&words[i + 1].text);
        if right.len() == 1 {
            while end < words.len() && key_of(&words[end].text).len() == 1 {
                right.push_str(&key_of(&words[end].text));
                end += 1;
            }
        }
        let left = key_of(&words[i - 1].text);
        let before: Vec<String> = words[i - 1..end].iter().map(|w| w.text.clone()).collect();
        let (_, trail) = punctuation(&words[end - 1].text);
        let joined = Word {
            text: format!("{left}_{right}{trail}"),
            change: Some((before.join(" "), "spoken_symbol")),
        };
        words.splice(i - 1..end, [joined]);
    }
}

/// The recogniser writes lowercase; the channel writes `Grafana`, `SLO`.
fn restore_case(words: &mut [Word], context: &ChannelContext) {
    for w in words.iter_mut() {
        let key = key_of(&w.text);
        let Some(term) = context.term(&key) else {
            continue;
        };
        let (lead, trail) = punctuation(&w.text);
        let written = format!("{lead}{}{trail}", term.written);
        if written != w.text {
            if w.change.is_none() {
                w.change = Some((w.text.clone(), "case"));
            }
            w.text = written;
        }
    }
}

/// "at Priya" → `@Priya` when Priya is a member of the channel.
fn spoken_mentions(words: &mut Vec<Word>, context: &ChannelContext) -> Vec<String> {
    let mut mentions = Vec::new();
    let mut i = 0;
    while i + 1 < words.len() {
        let first = key_of(&words[i].text);
        // Recognisers often hear a leading "at" as "that"; only at the very
        // start, where "that Name" is rare, is it taken as a mention.
        let is_at = first == "at" || (i == 0 && first == "that");
        let name = key_of(&words[i + 1].text);
        let member = context.members().find(|m| m.key == name);
        if let (true, Some(member)) = (is_at, member) {
            let (lead, _) = punctuation(&words[i].text);
            let (_, trail) = punctuation(&words[i + 1].text);
            let before = match &words[i + 1].change {
                Some((orig, _)) => format!("{} {orig}", words[i].text),
                None => format!("{} {}", words[i].text, words[i + 1].text),
            };
            let mention = Word {
                text: format!("{lead}@{}{trail}", member.written),
                change: Some((before, "mention")),
            };
            if !mentions.contains(&member.written) {
                mentions.push(member.written.clone());
            }
            words.splice(i..i + 2, [mention]);
        }
        i += 1;
    }
    mentions
}

fn render(words: Vec<Word>, mentions: Vec<String>) -> Corrected {
    let mut text = String::new();
    let mut corrections = Vec::new();
    for w in words {
        if !text.is_empty() {
            text.push(' ');
        }
        let start = text.chars().count();
        text.push_str(&w.text);
        if let Some((before, reason)) = w.change {
            corrections.push(Correction {
                start,
                end: text.chars().count(),
                before,
                after: w.text,
                reason: reason.to_string(),
            });
        }
    }
    Corrected {
        text,
        corrections,
        mentions,
    }
}
