//! Decisions: `Decision:` / `Agreed:` markers, settled phrasing ("let's go with",
//! "we'll use"), proposals someone accepted, and later decisions replacing
//! earlier ones on the same subject.

use super::{MAX_ITEM_WORDS, Proposal, State, Tracked, Turn, cues};
use crate::model::Decision;
use crate::text::{
    capitalise, find_phrase, has_phrase, sentences, shared_words, shorten, similarity,
    strip_word_prefix, trim_filler, without_parentheses,
};

/// Rewrites a settled sentence as a short statement ("let's go with X" → "Use X").
pub(super) fn decision_text(sentence: &str) -> String {
    let mut t = trim_filler(sentence);
    const USE: &[&str] = &[
        "let's go with",
        "lets go with",
        "we'll go with",
        "we will go with",
        "we're going with",
        "we are going with",
        "we're going to go with",
        "going with",
        "we go with",
        "go with",
        "we'll use",
        "we will use",
        "we're using",
        "we are using",
        "let's use",
        "lets use",
    ];
    for prefix in USE {
        if let Some(rest) = strip_word_prefix(t, prefix) {
            return finish(&format!("use {rest}"));
        }
    }
    const DROP: &[&str] = &[
        "we've decided to",
        "we have decided to",
        "we decided to",
        "decided to",
        "we've decided",
        "we decided",
        "the plan is to",
        "the plan is",
        "the call is",
        "final call",
        "it's settled",
        "from now on",
        "going forward",
        "let's",
        "lets",
        "we'll",
        "we will",
        "we're going to",
        "we are going to",
        "we're",
        "we are",
    ];
    for prefix in DROP {
        if let Some(rest) = strip_word_prefix(t, prefix) {
            t = trim_filler(rest);
            break;
        }
    }
    finish(t)
}

fn finish(t: &str) -> String {
    let t = t.trim();
    let t = t.strip_suffix(" then").unwrap_or(t);
    capitalise(&shorten(t, MAX_ITEM_WORDS))
}

fn shorten_marked(text: &str) -> String {
    let lower = text.to_lowercase();
    let end = [" because ", " since ", " so that ", " which "]
        .iter()
        .filter_map(|c| lower.find(c))
        .min()
        .unwrap_or(text.len());
    let words: Vec<&str> = text[..end]
        .split_whitespace()
        .take(MAX_ITEM_WORDS + 4)
        .collect();
    words
        .join(" ")
        .trim_end_matches([',', '.', ';', ':'])
        .to_owned()
}

/// "6px it is", "Porto it is for the offsite": a short subject settled.
fn it_is(lower: &str, core: &str) -> Option<String> {
    let i = find_phrase(lower, "it is")?;
    let before = core[..i].trim();
    let n = before.split_whitespace().count();
    if n == 0 || n > 4 {
        return None;
    }
    let after = core[i + "it is".len()..].trim();
    let after = if after.starts_with(|c: char| c.is_alphanumeric()) {
        after
    } else {
        ""
    };
    Some(capitalise(format!("{before} {after}").trim()))
}

/// "ok, Lisbon then": a short choice settled after discussion.
fn settled_then(sentence: &str) -> Option<String> {
    let core = trim_filler(sentence);
    if core.len() == sentence.trim().len() {
        return None;
    }
    let choice = core.strip_suffix(" then")?;
    let n = choice.split_whitespace().count();
    (1..=4).contains(&n).then(|| capitalise(choice))
}

/// Laughing or eye-rolling emoji: the message is not meant as a decision.
pub(super) fn joking(text: &str) -> bool {
    cues::JOKE_EMOJI.iter().any(|e| text.contains(e))
}

/// A sentence that is hedged, hypothetical or a question cannot decide anything.
fn hedged(lower: &str) -> bool {
    has_phrase(lower, cues::HEDGES) || has_phrase(lower, cues::DEFERRAL) || lower.contains('?')
}

/// `let's <verb>` where the verb commits to something.
fn committing_lets(lower: &str) -> bool {
    let rest = ["let's ", "lets ", "let us "]
        .iter()
        .find_map(|p| lower.strip_prefix(p));
    match rest {
        Some(rest) => !cues::NONCOMMITTAL_LETS
            .iter()
            .any(|v| strip_word_prefix(rest, v).is_some()),
        None => false,
    }
}

/// Index of the first sentence that says something (not filler, not a question).
fn first_statement(sents: &[crate::text::Sentence]) -> usize {
    sents
        .iter()
        .position(|s| !s.question && trim_filler(&s.text).split_whitespace().count() >= 2)
        .unwrap_or(usize::MAX)
}

/// Approvals on a message from someone other than its author.
fn approvals(turn: &Turn<'_>) -> usize {
    turn.message
        .reactions
        .iter()
        .filter(|r| {
            !r.by.eq_ignore_ascii_case(&turn.message.author)
                && cues::APPROVAL_EMOJI.contains(&r.emoji.as_str())
        })
        .count()
}

impl State<'_> {
    pub(super) fn marked_decision(&mut self, turn: &Turn<'_>, rest: &str) -> bool {
        let lower = rest.to_lowercase();
        // "Decision: maybe X?" is still a proposal.
        if rest.is_empty()
            || has_phrase(&lower, &["what if", "maybe", "hypothetically", "jk"])
            || joking(&turn.clean)
        {
            return false;
        }
        let first = sentences(rest)
            .into_iter()
            .next()
            .map(|s| s.text)
            .unwrap_or_default();
        // A marker line is the author's own summary: keep it whole but for asides.
        let text = capitalise(&shorten_marked(trim_filler(&without_parentheses(&first))));
        if text.is_empty() {
            return false;
        }
        self.add_decision(turn, text, &lower);
        true
    }

    /// A statement about an open action item ("checklist is in the wiki") is a
    /// status report, not a decision.
    fn reports_on_action(&self, sentence: &str) -> bool {
        self.actions
            .iter()
            .any(|a| shared_words(&a.item.text, sentence) >= 2)
    }

    pub(super) fn read_natural_decisions(&mut self, turn: &Turn<'_>) {
        if turn.author_is_agent || joking(&turn.clean) {
            return;
        }
        let approved = approvals(turn) > 0;
        let mut found = Vec::new();
        let sents = sentences(&turn.clean);
        for (i, s) in sents.iter().enumerate() {
            let core = trim_filler(&s.text);
            let lower = core.to_lowercase();
            if lower.is_empty() {
                continue;
            }
            let opener = cues::DECISION_OPENERS
                .iter()
                .any(|o| strip_word_prefix(&lower, o).is_some())
                || lower.ends_with(" it is");
            let lets = committing_lets(&lower);
            // "we hold at 20% until …" with approvals from others.
            let approved_we = approved
                && ["we ", "we'll ", "we will "]
                    .iter()
                    .any(|p| lower.starts_with(p));
            if s.question || hedged(&lower) {
                if has_phrase(&lower, cues::PROPOSAL_CUES) && !s.question || lets {
                    self.proposals.push(Proposal {
                        text: decision_text(core),
                        at: turn.index,
                        thread: turn.thread.clone(),
                        author: turn.message.author.clone(),
                        source: turn.message.id.clone(),
                    });
                }
                continue;
            }
            let settled = it_is(&lower, core)
                .or_else(|| (!opener && !lets).then(|| settled_then(&s.text)).flatten());
            if let Some(text) = settled
                && !s.question
            {
                found.push((text, lower));
                continue;
            }
            // Two or more approvals make a plain statement the team's decision
            // (but not a status report or someone's own to-do).
            let approved_statement = approvals(turn) >= 2
                && found.is_empty()
                && i == first_statement(&sents)
                && !has_phrase(&lower, cues::COMPLETION)
                && !has_phrase(&lower, cues::SELF_COMMIT)
                && !self.reports_on_action(core);
            if opener || lets || approved_we || approved_statement {
                let mut text = decision_text(core);
                // "let's go with Postgres then. Aurora, single writer" says more in the next sentence.
                if text.split_whitespace().count() < 4
                    && let Some(next) = sents.get(i + 1)
                    && !next.question
                {
                    text = decision_text(&format!("{core}: {}", trim_filler(&next.text)));
                }
                found.push((text, lower));
            } else if has_phrase(&lower, cues::PROPOSAL_CUES) {
                self.proposals.push(Proposal {
                    text: decision_text(core),
                    at: turn.index,
                    thread: turn.thread.clone(),
                    author: turn.message.author.clone(),
                    source: turn.message.id.clone(),
                });
            }
        }
        for (text, lower) in found {
            self.add_decision(turn, text, &lower);
        }
        // Heavily approved proposals are accepted.
        if approvals(turn) >= 2 {
            let mine: Vec<_> = self
                .proposals
                .iter()
                .filter(|p| p.at == turn.index)
                .map(|p| p.text.clone())
                .collect();
            self.proposals.retain(|p| p.at != turn.index);
            for text in mine {
                let lower = text.to_lowercase();
                self.add_decision(turn, text, &lower);
            }
        }
    }

    /// A reply that agrees turns the proposal it answers into a decision; one that
    /// pushes back withdraws a fresh unapproved decision.
    pub(super) fn accept_proposals(&mut self, turn: &Turn<'_>) {
        let lower = trim_filler(&turn.clean).to_lowercase();
        let short = lower.split_whitespace().count() <= 8;
        let agrees = short
            && cues::AGREEMENT
                .iter()
                .any(|a| lower.starts_with(a) && find_phrase(&lower, a).is_some());
        let disagrees = cues::DISAGREEMENT
            .iter()
            .any(|d| strip_word_prefix(&lower, d).is_some());
        if agrees && !disagrees {
            let author = &turn.message.author;
            let pos = self.proposals.iter().rposition(|p| {
                !p.author.eq_ignore_ascii_case(author) && State::in_reach(turn, p.at, &p.thread)
            });
            if let Some(pos) = pos {
                let p = self.proposals.remove(pos);
                let lower = p.text.to_lowercase();
                let proposal_turn = Turn {
                    index: p.at,
                    message: turn.message,
                    clean: String::new(),
                    thread: p.thread.clone(),
                    author_is_agent: false,
                    context: String::new(),
                };
                self.add_decision_from(&proposal_turn, p.text, &lower, p.source);
            }
        } else if disagrees && turn.index > 0 {
            // Pushback right after a decision nobody approved withdraws it.
            if let Some(last) = self.decisions.last()
                && turn.index - last.at <= 2
                && State::in_reach(turn, last.at, &last.thread)
                && !lower.contains("decision")
            {
                let removed = self.decisions.pop();
                if let Some(removed) = removed {
                    self.proposals.push(Proposal {
                        text: removed.item.text,
                        at: removed.at,
                        thread: removed.thread,
                        author: String::new(),
                        source: removed.item.source,
                    });
                }
            }
        }
    }

    fn add_decision(&mut self, turn: &Turn<'_>, text: String, lower: &str) {
        let source = turn.message.id.clone();
        self.add_decision_from(turn, text, lower, source);
    }

    /// Adds a decision, replacing the one it restates or reverses.
    fn add_decision_from(&mut self, turn: &Turn<'_>, text: String, lower: &str, source: String) {
        let reverses = has_phrase(lower, cues::REVERSAL)
            || lower.starts_with("no ")
            || lower.starts_with("not ");
        let mut best: Option<(usize, f64)> = None;
        for (i, d) in self.decisions.iter().enumerate() {
            let sim = similarity(&d.item.text, &text);
            let shared = shared_words(&d.item.text, &format!("{text} {lower} {}", turn.context));
            // A provisional decision ("dates TBD") gives way to any later one on its subject.
            let provisional = has_phrase(&d.item.text.to_lowercase(), cues::PROVISIONAL);
            let replaces = sim >= 0.25 || ((reverses || provisional) && shared > 0);
            if replaces && best.is_none_or(|(_, s)| sim >= s) {
                best = Some((i, sim));
            }
        }
        if let Some((i, _)) = best {
            let old = self.decisions.remove(i);
            self.superseded.push(old.item);
        }
        self.decisions.push(Tracked {
            item: Decision { text, source },
            at: turn.index,
            thread: turn.thread.clone(),
            seeded: false,
        });
        // A decision settles the proposals it came from.
        let last = self.decisions.last().map(|d| d.item.text.clone());
        if let Some(last) = last {
            self.proposals.retain(|p| similarity(&p.text, &last) < 0.3);
        }
    }
}
