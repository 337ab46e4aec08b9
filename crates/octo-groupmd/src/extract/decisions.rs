//! Decisions: `Decision:` / `Agreed:` markers, settled phrasing ("let's go with",
//! "we'll use"), proposals someone accepted, and later decisions replacing
//! earlier ones on the same subject.

use super::{MAX_ITEM_WORDS, Proposal, State, Tracked, Turn, cues};
use crate::model::{Decision, Message};
use crate::text::{
    capitalise, content_words, find_phrase, has_phrase, sentences, shared_words, shorten,
    similarity, strip_word_prefix, trim_filler, without_parentheses, without_quotes,
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

/// "blue it is", "the lake house it is": a short subject settled.
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

/// "ok, Tuesday then": a short choice settled after discussion. The choice must
/// echo something said before (an option on the table), not be a remark.
fn settled_then(sentence: &str, said_before: &str) -> Option<String> {
    let core = trim_filler(sentence);
    if core.len() == sentence.trim().len() {
        return None;
    }
    let choice = core.strip_suffix(" then")?;
    let n = choice.split_whitespace().count();
    let first = choice
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_lowercase();
    const NOT_CHOICES: &[&str] = &["no", "not", "nobody", "none", "nothing", "that", "it"];
    if NOT_CHOICES.contains(&first.as_str()) || shared_words(choice, said_before) == 0 {
        return None;
    }
    (1..=4).contains(&n).then(|| capitalise(choice))
}

/// Openers that announce a change of mind before the new decision.
const CHANGE_OPENERS: &[&str] = &[
    "actually",
    "change of plan",
    "change of plans",
    "scratch that",
    "on second thought",
    "update",
    "correction",
    "in that case",
    "new plan",
    "fair",
    "fair enough",
    "good point",
    "true",
];

/// Strips filler and change-of-mind openers; says whether one was there.
fn lead_trim(sentence: &str) -> (&str, bool) {
    let mut t = trim_filler(sentence);
    let mut changed = false;
    while let Some(rest) = CHANGE_OPENERS.iter().find_map(|o| strip_word_prefix(t, o)) {
        t = trim_filler(rest);
        changed = true;
    }
    (t, changed)
}

/// "we keep …", "we stay …": a plain first-person-plural plan (not a report,
/// not a feeling) that others can accept.
fn we_plan(lower: &str) -> bool {
    let Some(rest) = strip_word_prefix(lower, "we") else {
        return false;
    };
    let verb = rest.split_whitespace().next().unwrap_or("");
    const NOT_PLANS: &[&str] = &[
        "have", "had", "were", "was", "did", "need", "needed", "know", "knew", "think", "thought",
        "got", "saw", "tried", "can", "could", "might", "may", "should", "would", "want", "like",
        "love", "hate", "lost", "missed", "broke", "forgot", "still", "just", "already", "never",
        "all", "both", "probably", "also", "really",
    ];
    !verb.is_empty()
        && !NOT_PLANS.contains(&verb)
        && !verb.ends_with("ed")
        && !verb.ends_with('\'')
        && !verb.contains('\u{2019}')
}

/// A short settled choice ("cursor pagination it is") says more in the next sentence.
fn with_next(text: String, sents: &[crate::text::Sentence], i: usize) -> String {
    match sents.get(i + 1) {
        Some(next) if text.split_whitespace().count() < 4 && !next.question => {
            let next = trim_filler(&next.text);
            if next.is_empty() || joking(next) {
                text
            } else {
                capitalise(&shorten(&format!("{text}: {next}"), MAX_ITEM_WORDS))
            }
        }
        _ => text,
    }
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

    pub(super) fn read_natural_decisions(&mut self, turn: &Turn<'_>, all: &[Message]) {
        if turn.author_is_agent || joking(&turn.clean) {
            return;
        }
        let said_before: String = all[turn.index.saturating_sub(8)..turn.index]
            .iter()
            .map(|m| m.text.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let approved = approvals(turn) > 0;
        let mut found = Vec::new();
        let sents = sentences(&turn.clean);
        for (i, s) in sents.iter().enumerate() {
            let (core, changed) = lead_trim(&s.text);
            let lower = core.to_lowercase();
            // Reversal cues live in the whole sentence ("actually, …").
            let full_lower = s.text.to_lowercase();
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
                    self.propose(turn, decision_text(core));
                }
                continue;
            }
            if i == 0
                && let Some((text, settled)) = self.answer(turn, all, &lower)
            {
                if settled {
                    found.push((text, full_lower));
                } else {
                    self.propose(turn, text);
                }
                continue;
            }
            let settled = it_is(&lower, core).or_else(|| {
                (!opener && !lets)
                    .then(|| settled_then(&s.text, &said_before))
                    .flatten()
            });
            if let Some(mut text) = settled {
                text = with_next(text, &sents, i);
                found.push((text, full_lower));
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
            // "change of plan: we go back to …" decides anew.
            let changed_we = changed && (we_plan(&lower) || lets);
            if opener || lets || approved_we || approved_statement || changed_we {
                let mut text = decision_text(core);
                // "let's go with X then. Y, Z" says more in the next sentence.
                if text.split_whitespace().count() < 4
                    && let Some(next) = sents.get(i + 1)
                    && !next.question
                {
                    let core = core.strip_suffix(" then").unwrap_or(core);
                    text = decision_text(&format!("{core}: {}", trim_filler(&next.text)));
                }
                found.push((text, full_lower));
            } else if (has_phrase(&lower, cues::PROPOSAL_CUES) || we_plan(&lower))
                && !["let's ", "lets ", "let us "]
                    .iter()
                    .any(|p| lower.starts_with(p))
            {
                self.propose(turn, decision_text(core));
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

    fn propose(&mut self, turn: &Turn<'_>, text: String) {
        if text.is_empty() {
            return;
        }
        self.proposals.push(Proposal {
            text,
            at: turn.index,
            thread: turn.thread.clone(),
            author: turn.message.author.clone(),
            source: turn.message.id.clone(),
        });
    }

    /// A reply to "should we X?" / "do we X?" from someone else: "yes, …" makes
    /// X a proposal; echoing the verb ("keep it") settles it.
    fn answer(&self, turn: &Turn<'_>, all: &[Message], lower: &str) -> Option<(String, bool)> {
        let asked = if turn.message.thread_id.is_some() {
            let root = turn.message.thread_id.as_deref()?;
            all[..turn.index].iter().find(|m| m.id == root)?
        } else {
            all.get(turn.index.checked_sub(1)?)?
        };
        if asked.author.eq_ignore_ascii_case(&turn.message.author) {
            return None;
        }
        let question = sentences(&without_quotes(&asked.text))
            .into_iter()
            .find(|s| s.question)?;
        let q = trim_filler(&question.text).to_lowercase();
        let q = ["question", "q"]
            .iter()
            .find_map(|m| strip_word_prefix(&q, m))
            .unwrap_or(&q)
            .to_owned();
        let clause = [
            "should we",
            "do we",
            "are we",
            "shall we",
            "can we",
            "will we",
        ]
        .iter()
        .find_map(|p| strip_word_prefix(&q, p))?
        .trim_start_matches("also ")
        .to_owned();
        // "do we need to …?" asks about a fact, not a choice.
        const FACTS: &[&str] = &["need", "have", "know", "support", "get", "expect", "still"];
        if FACTS
            .iter()
            .any(|f| strip_word_prefix(&clause, f).is_some())
        {
            return None;
        }
        let (clause_verb, answer_verb) = (
            clause.split_whitespace().next().unwrap_or(""),
            lower.split_whitespace().next().unwrap_or(""),
        );
        if clause_verb.len() > 2 && clause_verb == answer_verb && !clause.contains(" or ") {
            return Some((capitalise(&shorten(&clause, MAX_ITEM_WORDS)), true));
        }
        let raw = turn.clean.trim().to_lowercase();
        let rest = ["yes", "yep", "yeah", "yup", "definitely", "absolutely"]
            .iter()
            .find_map(|y| strip_word_prefix(&raw, y))?;
        let rest = sentences(rest).into_iter().next().map(|s| s.text);
        // A full answer stands alone; a short one completes the question.
        let text = match rest {
            Some(r) if content_words(&r).len() >= 4 => r,
            Some(r) if content_words(&r).len() >= 2 => format!("{clause}: {r}"),
            _ => clause,
        };
        Some((capitalise(&shorten(&text, MAX_ITEM_WORDS)), false))
    }

    /// A reply that agrees turns the proposal it answers into a decision; one that
    /// pushes back withdraws a fresh unapproved decision.
    pub(super) fn accept_proposals(&mut self, turn: &Turn<'_>) {
        // Agreement words are filler elsewhere: look at the raw opening too.
        let raw = turn.clean.trim().to_lowercase();
        let lower = trim_filler(&turn.clean).to_lowercase();
        let starts = |t: &str, a: &str| t.starts_with(a) && find_phrase(t, a).is_some();
        let agreement = cues::AGREEMENT
            .iter()
            .find(|a| starts(&raw, a) || starts(&lower, a));
        let short = raw.split_whitespace().count() <= 8;
        // "agreed, dropping that" agrees to drop.
        let negative = has_phrase(&lower, &["not", "no", "drop", "dropping", "skip", "don't"]);
        // "hmm" is filler elsewhere but pushback here.
        let disagrees = cues::DISAGREEMENT.iter().any(|d| {
            strip_word_prefix(&lower, d).is_some() || strip_word_prefix(&raw, d).is_some()
        });
        // "agreed, purchases per session is the metric": the agreement restates it.
        let restated = agreement.and_then(|_| {
            let rest = trim_filler(&raw);
            let first = sentences(rest).into_iter().next()?;
            let reply = turn.context.contains('?')
                || self
                    .proposals
                    .iter()
                    .any(|p| State::in_reach(turn, p.at, &p.thread));
            (reply
                && !first.question
                && content_words(&first.text).len() >= 3
                && !hedged(&first.text)
                && !negative)
                .then(|| decision_text(&first.text))
        });
        if let Some(text) = restated {
            let lower = text.to_lowercase();
            self.add_decision(turn, text, &lower);
            return;
        }
        let author = &turn.message.author;
        // "sure" from someone just handed work acknowledges it; it accepts nothing.
        let acknowledges = self.actions.iter().any(|a| {
            !a.seeded
                && a.item
                    .owner
                    .as_ref()
                    .is_some_and(|o| o.eq_ignore_ascii_case(author))
                && a.at < turn.index
                && turn.index - a.at <= 2
        });
        if agreement.is_some() && short && !disagrees && !negative && !acknowledges {
            let pos = self.proposals.iter().rposition(|p| {
                !p.author.eq_ignore_ascii_case(author)
                    && p.at < turn.index
                    && (turn.index - p.at <= 2
                        || turn.message.thread_id.is_some() && p.thread == turn.thread)
            });
            // Agreement goes to what was said last: a decision after the proposal.
            let pos = pos.filter(|&i| {
                self.decisions
                    .last()
                    .is_none_or(|d| d.seeded || d.at <= self.proposals[i].at)
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
            // Pushback drops the proposal it answers.
            if let Some(pos) = self.proposals.iter().rposition(|p| {
                !p.author.eq_ignore_ascii_case(author)
                    && p.at < turn.index
                    && (turn.index - p.at <= 2
                        || turn.message.thread_id.is_some() && p.thread == turn.thread)
            }) {
                self.proposals.remove(pos);
            }
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
        // "change of plan: …" replaces the latest decision even in new words.
        let strong = has_phrase(
            lower,
            &[
                "change of plan",
                "change of plans",
                "scratch that",
                "on second thought",
                "changed our mind",
                "new plan",
            ],
        );
        if best.is_none() && strong && !self.decisions.is_empty() {
            best = Some((self.decisions.len() - 1, 0.0));
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
