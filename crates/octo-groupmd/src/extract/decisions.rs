//! Decisions: `Decision:` / `Agreed:` markers, settled phrasing ("let's go with",
//! "we'll use"), proposals someone accepted, and later decisions replacing
//! earlier ones on the same subject.

use super::{MAX_ITEM_WORDS, Proposal, State, Tracked, Turn, cues, verbs};
use crate::model::{Decision, Message};
use crate::text::Lower as _;
use crate::text::{
    capitalise, content_words, find_phrase, has_phrase, sentences, shared_words, shorten,
    similarity, strip_word_prefix, trim_filler, without_parentheses, without_quotes,
};

/// Rewrites a settled sentence as a short statement ("let's go with X" → "Use X").
pub(super) fn decision_text(sentence: &str) -> String {
    let mut t = trim_filler(sentence);
    // "suggestion: max 2 nodes …": the label is not part of what is proposed.
    if let Some(rest) = proposal_label(t) {
        t = rest;
    }
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
        "we're switching to",
        "we are switching to",
        "we'll switch to",
        "switching to",
        "we switch to",
    ];
    for prefix in USE {
        if let Some(rest) = strip_word_prefix(t, prefix) {
            return finish(&format!("use {rest}"));
        }
    }
    // "I agree with Jonas, ship to 100%": the agreement is not the decision.
    if let Some(rest) = ["i agree with", "agree with", "i'm with", "im with"]
        .iter()
        .find_map(|p| strip_word_prefix(t, p))
        .and_then(|r| r.split_once(", "))
        .map(|(_, r)| r)
        .or_else(|| {
            ["i agree,", "agreed,", "i agree.", "agreed."]
                .iter()
                .find_map(|p| t.lower().starts_with(p).then(|| &t[p.len()..]))
        })
    {
        t = trim_filler(rest);
    }
    const DROP: &[&str] = &[
        "i think we should",
        "i think",
        "imo",
        "we should",
        "we could",
        "we've decided to",
        "we have decided to",
        "we decided to",
        "decided to",
        "we've decided",
        "we decided",
        "what if we",
        "how about we",
        "why don't we",
        "why not",
        "should we",
        "i'd prefer",
        "i prefer",
        "i'd rather",
        "i vote for",
        "i vote",
        "i lean towards",
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

/// Labels that open a proposal ("suggestion: …", "proposal - …").
const PROPOSAL_LABELS: &[&str] = &[
    "proposal",
    "my proposal",
    "suggestion",
    "my suggestion",
    "idea",
    "my idea",
    "counter-proposal",
    "counterproposal",
];

/// What follows a proposal label and its colon or dash, if `text` opens with one.
fn proposal_label(text: &str) -> Option<&str> {
    PROPOSAL_LABELS.iter().find_map(|l| {
        let head = text.get(..l.len())?;
        let rest = text[l.len()..].trim_start();
        (head.eq_ignore_ascii_case(l) && (rest.starts_with(':') || rest.starts_with("- ")))
            .then(|| rest.trim_start_matches([':', '-', ' ']))
            .filter(|r| !r.is_empty())
    })
}

fn finish(t: &str) -> String {
    let t = t.trim();
    let t = t.strip_suffix(" then").unwrap_or(t);
    // "tuesday so the deploy chaos isn't on handoff day": the reason is not the
    // decision ("so" opening a clause with its own subject, as "because" does).
    let lower = t.lower();
    let end = [
        " so the ",
        " so that ",
        " so we ",
        " so it ",
        " so nobody ",
        " so people ",
    ]
    .iter()
    .filter_map(|c| lower.find(c))
    .min()
    .filter(|&i| t.is_char_boundary(i))
    .unwrap_or(t.len());
    capitalise(&shorten(&t[..end], MAX_ITEM_WORDS))
}

fn shorten_marked(text: &str) -> String {
    let lower = text.lower();
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
    // "X it is" closes the clause; "it is their standard one" is a plain copula.
    if after.starts_with(|c: char| c.is_alphanumeric()) {
        return None;
    }
    Some(capitalise(before))
}

/// "ok, Tuesday then": a short choice settled after discussion. The choice must
/// echo something said before (an option on the table), not be a remark.
fn settled_then(sentence: &str, said_before: &str, options_asked: bool) -> Option<String> {
    let core = trim_filler(sentence);
    if core.len() == sentence.trim().len() && !options_asked {
        return None;
    }
    let choice = core.strip_suffix(" then")?;
    let n = choice.split_whitespace().count();
    let first = choice.split_whitespace().next().unwrap_or("").lower();
    const NOT_CHOICES: &[&str] = &["no", "not", "nobody", "none", "nothing", "that", "it"];
    // "keep it then" agrees with what was said; it names no choice of its own.
    let points_back = crate::text::words(choice)
        .iter()
        .any(|w| ["it", "that", "this", "them"].contains(&w.as_str()));
    if NOT_CHOICES.contains(&first.as_str())
        || points_back
        || shared_words(choice, said_before) == 0
    {
        return None;
    }
    (1..=4).contains(&n).then(|| capitalise(choice))
}

/// The subject a short choice settles: "catering" when a recent message that
/// named the choice opened with "catering: …".
fn topic_of(choice: &str, before: &[Message]) -> Option<String> {
    let choice = choice.lower();
    before.iter().rev().find_map(|m| {
        let text = m.text.lower();
        find_phrase(&text, &choice)?;
        let (label, _) = m.text.split_once(':')?;
        // "yay! catering: …": the label opens its own sentence.
        let label = label.rsplit(['.', '!', '?', '\n']).next().unwrap_or(label);
        let n = label.split_whitespace().count();
        ((1..=2).contains(&n)
            && label
                .chars()
                .all(|c| c.is_alphanumeric() || c == ' ' || c == '-'))
        .then(|| capitalise(label.trim()))
    })
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
        // "we'd need …" is a hypothetical, not a plan.
        && !verb.starts_with('\'')
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

/// The sentence up to its first comma: a trailing "if we slip, we slip" does not
/// hedge "no weekend work for alpha".
fn head(lower: &str) -> &str {
    lower.split(", ").next().unwrap_or(lower)
}

/// "no deploys on Fridays", "no weekend work for alpha": a rule said as a
/// prohibition. "no idea", "no worries", "no one …" are not.
fn prohibition(lower: &str) -> bool {
    const NOT_RULES: &[&str] = &[
        "idea",
        "problem",
        "problems",
        "worries",
        "worry",
        "way",
        "one",
        "clue",
        "need",
        "rush",
        "pressure",
        "longer",
        "more",
        "thanks",
        "doubt",
        "matter",
        "wonder",
        "luck",
        "chance",
        "comment",
        "comments",
        "objection",
        "objections",
        "issue",
        "issues",
        "reply",
        "response",
        "answer",
        "news",
        "update",
        "updates",
        "big",
        "offense",
        "harm",
        "sweat",
        "shit",
        "kidding",
        "joke",
        "pun",
        "surprise",
        "stress",
        "hurry",
        "go",
        "errors",
        "error",
        "crashes",
        "alerts",
        "failures",
        "incidents",
        "complaints",
        "data",
        "signal",
        "results",
        "sign",
    ];
    let Some(rest) = lower.strip_prefix("no ") else {
        return false;
    };
    let first = rest.split_whitespace().next().unwrap_or("");
    // "no tests failed overnight", "no errors since the fix": observations.
    let observed = head(rest)
        .split_whitespace()
        .any(|w| w.len() > 4 && w.ends_with("ed"))
        || has_phrase(head(rest), &["yet", "so far", "since", "anymore", "left"]);
    !NOT_RULES.contains(&first) && !observed && content_words(head(rest)).len() >= 2
}

/// "we won't wait for upstream", "we will not ship on Fridays": a plan said as a
/// refusal (not "we won't know until …").
fn refusal(lower: &str) -> bool {
    const NOT_PLANS: &[&str] = &[
        "know",
        "have",
        "need",
        "be",
        "get",
        "see",
        "make",
        "find",
        "hear",
        "care",
        "mind",
        "like",
        "want",
        "expect",
        "understand",
        "remember",
        "agree",
        "manage",
        "lose",
        "miss",
    ];
    [
        "we won't",
        "we will not",
        "we're not going to",
        "we are not going to",
    ]
    .iter()
    .find_map(|p| strip_word_prefix(lower, p))
    .and_then(|rest| rest.split_whitespace().next())
    .is_some_and(|verb| !NOT_PLANS.contains(&verb))
}

/// "cert alerts should go to the platform channel", "night slots go to Rafael":
/// a prescriptive statement about how things will be (a proposal until accepted).
fn prescriptive(lower: &str) -> bool {
    const SUBJECTS_NOT: &[&str] = &["i", "you", "it", "that", "this", "there", "he", "she"];
    let subject = lower.split_whitespace().next().unwrap_or("");
    if SUBJECTS_NOT.contains(&subject) {
        return false;
    }
    has_phrase(
        lower,
        &[
            "should",
            "must",
            "needs to",
            "has to",
            "goes to",
            "go to",
            "stays",
            "stay with",
            "becomes",
            "become",
            "moves to",
            "move to",
        ],
    ) && !lower.starts_with("we ")
}

/// "keep it, but only page after 10 minutes": an imperative about how things
/// will be (a proposal until someone accepts it).
fn imperative_plan(lower: &str) -> bool {
    const VERBS: &[&str] = &[
        "keep", "use", "drop", "switch", "stick", "stay", "skip", "raise", "lower", "cap", "limit",
        "require", "allow", "ban", "move", "go", "stop", "only",
    ];
    VERBS.iter().any(|v| strip_word_prefix(lower, v).is_some())
}

/// "exclude the API reference", "send a mail first, then delete …": a sentence
/// opening with a verb of work or of how things will be.
fn imperative(lower: &str) -> bool {
    imperative_plan(lower)
        || cues::OUTSIDE_VERBS
            .iter()
            .chain(&["exclude", "include", "buy", "hire", "translate", "wait"])
            .any(|v| strip_word_prefix(lower, v).is_some())
}

/// A sentence that opens with its own subject ("we said …", "the ED stays …").
fn starts_with_subject(sentence: &str) -> bool {
    const SUBJECTS: &[&str] = &[
        "we", "i", "i'm", "it", "it's", "that", "this", "they", "you", "he", "she", "there", "the",
        "our", "my",
    ];
    let first = trim_filler(sentence)
        .split_whitespace()
        .next()
        .unwrap_or("")
        .lower();
    SUBJECTS.contains(&first.as_str())
}

/// How a question about what "we" do opens.
pub(super) const ASKING_WE: &[&str] = &[
    "should we",
    "do we",
    "are we",
    "shall we",
    "can we",
    "will we",
];

/// "should we start now or wait for the runs?" answered "start now, …": the
/// option the answer opens with, in the question's words.
fn chosen_option(question: &str, answer: &str) -> Option<String> {
    if !question.contains(" or ") {
        return None;
    }
    let clause = ASKING_WE
        .iter()
        .chain(&["would we"])
        .find_map(|p| strip_word_prefix(question, p))?;
    let first = answer.split_whitespace().next()?;
    clause
        .split(" or ")
        .map(str::trim)
        .find(|o| o.split_whitespace().next() == Some(first) && first.len() > 2)
        .map(|o| capitalise(&shorten(o, MAX_ITEM_WORDS)))
}

/// "Use that", "Do both", "Do it": a decision text that only points back.
fn pointer_only(text: &str) -> bool {
    const POINTERS: &[&str] = &[
        "that", "it", "this", "both", "those", "them", "one", "plan", "idea", "option", "use",
        "do", "go", "with", "then", "way", "version", "approach",
    ];
    let words = crate::text::words(text);
    !words.is_empty() && words.iter().all(|w| POINTERS.contains(&w.as_str()))
}

/// Agreement said at the end of a short sentence ("Tuesday works for me").
const AGREEMENT_ENDINGS: &[&str] = &[
    "works for me",
    "fine by me",
    "ok for me",
    "fine with me",
    "good for me",
    "is fine",
    "sounds good",
    "makes sense",
];

/// Words that carry no subject of their own in a decision text.
const EMPTY_WORDS: &[&str] = &[
    "it", "that", "this", "them", "not", "no", "now", "then", "today", "yes", "ok", "sure", "one",
    "too", "thing",
];

/// A decision says something: at least two words beyond pointers and time.
fn substantive(text: &str) -> bool {
    let text = text.split(", ").next().unwrap_or(text);
    content_words(text)
        .iter()
        .filter(|w| !EMPTY_WORDS.contains(&w.as_str()))
        .count()
        >= 2
}

impl State<'_> {
    pub(super) fn marked_decision(&mut self, turn: &Turn<'_>, rest: &str) -> bool {
        let lower = rest.lower();
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
        // Someone just asked "A or B?": a bare "B then" picks an option.
        let options_asked = all[turn.index.saturating_sub(4)..turn.index]
            .iter()
            .any(|m| m.text.contains('?') && m.text.contains(" or "));
        let mut found = Vec::new();
        let sents = sentences(&turn.clean);
        for (i, s) in sents.iter().enumerate() {
            let (core, changed) = lead_trim(&s.text);
            let lower = core.lower();
            // Reversal cues live in the whole sentence ("actually, …").
            let full_lower = s.text.lower();
            // "yes, the new rule starts monday anyway" granting "can I keep …?":
            // the grant is the decision; the rest is why.
            if i == 0
                && let Some(text) = permission_granted(turn, all)
            {
                found.push((text, full_lower));
                break;
            }
            if lower.is_empty() {
                if i == 0
                    && let Some(text) = self.confirmed_plan(turn, all)
                {
                    found.push((text, full_lower));
                }
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
            // "no weekend work for alpha", "we won't wait for upstream", "X is the
            // metric from now on": said as settled, hedged only by a later clause.
            let firm = prohibition(&lower)
                || refusal(&lower)
                || has_phrase(head(&lower), &["from now on", "going forward"]);
            if firm && !s.question && !hedged(head(&lower)) {
                // "We won't wait for upstream. Disable XML uploads …" goes on with
                // an instruction; "… we said that last year" is an aside.
                let text = decision_text(core);
                // "no watering after 6pm, the slugs love it": the rule is the first clause.
                let text = match text.split_once(", ") {
                    Some((rule, _)) if prohibition(&rule.lower()) => rule.to_owned(),
                    _ => text,
                };
                let text = match sents.get(i + 1) {
                    Some(next)
                        if !next.question
                            && !starts_with_subject(&next.text)
                            && text.split_whitespace().count() <= 7 =>
                    {
                        capitalise(&shorten(
                            &format!("{text}: {}", trim_filler(&next.text)),
                            MAX_ITEM_WORDS,
                        ))
                    }
                    _ => text,
                };
                // A prohibition's "no" is the rule itself, not a reversal.
                let lower = full_lower.strip_prefix("no ").unwrap_or(&full_lower);
                found.push((text, lower.to_owned()));
                continue;
            }
            if s.question || hedged(&lower) {
                // "what if we quarantine it with an owner?" proposes by asking.
                let asks_to = ["what if we", "how about we", "why don't we", "should we"]
                    .iter()
                    .any(|p| lower.starts_with(p));
                // "maybe a 2 week sprint starting june 1": a plan offered, not a
                // guess about someone ("maybe he forgot").
                // ("maybe, but our fleet changes too much" hesitates.)
                let offered = strip_word_prefix(&lower, "maybe").is_some_and(|r| {
                    !starts_with_subject(r)
                        && !["but", "not", "if", "later", "so", "no", "or"]
                            .iter()
                            .any(|w| strip_word_prefix(r, w).is_some())
                        && content_words(r).len() >= 3
                });
                let cued = has_phrase(&lower, cues::PROPOSAL_CUES)
                    || proposal_label(core).is_some()
                    || offered;
                if cued && !s.question || asks_to || lets {
                    let core = strip_word_prefix(core, "maybe")
                        .filter(|_| offered)
                        .unwrap_or(core);
                    self.propose(turn, with_next(decision_text(core), &sents, i));
                } else if !s.question
                    && i == first_statement(&sents)
                    && found.is_empty()
                    && !has_phrase(&lower, cues::DEFERRAL)
                    && !has_phrase(&lower, cues::COMPLETION)
                    && !has_phrase(&lower, cues::SELF_COMMIT)
                    && self.replies_to_choice(turn, all).is_some()
                    // (what it proposes, not what someone would do)
                    && !starts_with_subject(&decision_text(core))
                {
                    // "I think keep 4 as backup for a month" answering "do we keep
                    // some?": a hedged answer still proposes.
                    self.propose(turn, with_next(decision_text(core), &sents, i));
                }
                continue;
            }
            // "we have the grant money, let's buy a new one": the clause before
            // the "let's" is why, and names what the choice is about.
            if let Some((before, after)) = [", let's ", ", lets ", ", let us "]
                .iter()
                .find_map(|c| lower.find(c))
                .and_then(|at| Some((core.get(..at)?, core.get(at + 2..)?.trim())))
                && committing_lets(&after.lower())
                && !pointer_only(&decision_text(after))
                && content_words(before).len() >= 2
            {
                let text = format!("{}: {}", decision_text(after), trim_filler(before));
                found.push((capitalise(&shorten(&text, MAX_ITEM_WORDS)), full_lower));
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
                    .then(|| settled_then(&s.text, &said_before, options_asked))
                    .flatten()
            });
            // "ok, android integration then" from someone just handed that work
            // acknowledges it; it settles nothing.
            let settled = settled.filter(|_| !self.handed_recently(turn));
            if let Some(mut text) = settled {
                // "1h cache it is" after "or just lower cache to 1h": the proposal
                // it settles says it in full.
                if let Some(full) = self.fuller_choice(&text, turn, all) {
                    text = full;
                }
                text = with_next(text, &sents, i);
                // "GreenFork it is" after "catering: two quotes …" settles catering.
                if text.split_whitespace().count() <= 2
                    && let Some(topic) =
                        topic_of(&text, &all[turn.index.saturating_sub(8)..turn.index])
                {
                    text = format!("{topic}: {text}");
                }
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
            if lets
                && pointer_only(&decision_text(core))
                && let Some(text) = self.pointed_decision(turn, all, has_phrase(&lower, &["both"]))
            {
                // "yes let's go with that": the decision is what "that" points to.
                let lower = text.lower();
                found.push((text, lower));
                continue;
            }
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
            } else if (has_phrase(&lower, cues::PROPOSAL_CUES)
                || proposal_label(core).is_some()
                || we_plan(&lower)
                || prescriptive(&lower)
                || imperative_plan(&lower))
                && !["let's ", "lets ", "let us "]
                    .iter()
                    .any(|p| lower.starts_with(p))
            {
                self.propose(turn, with_next(decision_text(core), &sents, i));
            } else if i == first_statement(&sents)
                && found.is_empty()
                && !has_phrase(&lower, cues::COMPLETION)
                && !has_phrase(&lower, cues::SELF_COMMIT)
                && !has_phrase(&lower, AGREEMENT_ENDINGS)
                && let Some(question) = self.replies_to_choice(turn, all)
            {
                // An answer to "too long, no?" / "A or B?" is a proposal: the
                // asker's or another member's agreement settles it. Picking one
                // option of "A or B?" proposes that option in the question's words.
                let text = chosen_option(&question, &lower)
                    .unwrap_or_else(|| with_next(decision_text(core), &sents, i));
                self.propose(turn, text);
            } else if i == first_statement(&sents)
                && imperative(&lower)
                && self.answers_we_question(turn, all)
            {
                // "exclude the API reference" answering "do we really translate
                // that?": a proposal until someone accepts it.
                self.propose(turn, with_next(decision_text(core), &sents, i));
            }
        }
        for (text, lower) in found {
            if substantive(&text) {
                self.add_decision(turn, text, &lower);
            }
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
                let lower = text.lower();
                self.add_decision(turn, text, &lower);
            }
        }
    }

    /// Whether `turn` answers a question another member just asked (the message
    /// before, or its thread root) that asks for a choice or a yes/no, not a fact
    /// ("where is the doc?", "who has the key?").
    fn replies_to_choice(&self, turn: &Turn<'_>, all: &[Message]) -> Option<String> {
        // The thread root, or the latest of the last three top-level messages
        // that asked something.
        let asked = match turn.message.thread_id.as_deref() {
            Some(root) => all[..turn.index].iter().find(|m| m.id == root),
            None => all[turn.index.saturating_sub(3)..turn.index]
                .iter()
                .rev()
                .filter(|m| m.thread_id.is_none())
                .find(|m| {
                    sentences(&without_quotes(&m.text))
                        .iter()
                        .any(|s| s.question)
                }),
        }?;
        if asked.author.eq_ignore_ascii_case(&turn.message.author) {
            return None;
        }
        let q = sentences(&without_quotes(&asked.text))
            .into_iter()
            .rev()
            .find(|s| s.question)?;
        let q = trim_filler(&q.text).lower();
        (!FACT_QUESTIONS
            .iter()
            .any(|f| strip_word_prefix(&q, f).is_some())
            && !q.contains('@'))
        .then_some(q)
    }
}

/// "do we power for 1% or 2%?", "min effect - should we …?": a question
/// that asks the team to choose (between options, or whether "we" do something).
pub(super) fn choice_question(lower: &str) -> bool {
    lower.contains(" or ") || ASKING_WE.iter().any(|p| find_phrase(lower, p).is_some())
}

/// Acknowledgements that accept when they go on to restate the choice.
const ACKNOWLEDGEMENTS: &[&str] = &["ok", "okay", "fine", "alright", "all right", "right"];

/// Question openers that ask for a fact, not a choice.
const FACT_QUESTIONS: &[&str] = &[
    "where",
    "who",
    "whos",
    "who's",
    "when",
    "how many",
    "how much",
    "how long",
    "what's",
    "what is",
    "what time",
    "why",
    "which one is",
    "is it",
    "is there",
    "has anyone",
    "does anyone",
    "did",
];

impl State<'_> {
    /// Whether `lower` (a reply) echoes a choice asked about just before: a
    /// question at top level in the last four messages (or the thread root),
    /// not about a fact, sharing a word with the reply. The asker's own
    /// question counts once someone else has answered it.
    fn asked_recently(&self, turn: &Turn<'_>, all: &[Message], lower: &str) -> bool {
        let author = &turn.message.author;
        let from = turn.index.saturating_sub(4);
        let candidates: Vec<(usize, &Message)> = match turn.message.thread_id.as_deref() {
            Some(root) => all[..turn.index]
                .iter()
                .enumerate()
                .filter(|(_, m)| m.id == root)
                .collect(),
            None => all[from..turn.index]
                .iter()
                .enumerate()
                .map(|(i, m)| (from + i, m))
                .filter(|(_, m)| m.thread_id.is_none())
                .collect(),
        };
        candidates.into_iter().any(|(at, m)| {
            let asked = sentences(&without_quotes(&m.text))
                .into_iter()
                .filter(|s| s.question)
                .any(|s| {
                    let q = trim_filler(&s.text).lower();
                    !FACT_QUESTIONS
                        .iter()
                        .any(|f| strip_word_prefix(&q, f).is_some())
                        && choice_question(&q)
                        && content_words(&q)
                            .intersection(&content_words(lower))
                            .count()
                            > 0
                });
            let answered = !m.author.eq_ignore_ascii_case(author)
                || all[at + 1..turn.index]
                    .iter()
                    .any(|x| !x.author.eq_ignore_ascii_case(author));
            asked && answered
        })
    }

    /// Whether the author was handed work in the last two messages.
    pub(super) fn handed_recently(&self, turn: &Turn<'_>) -> bool {
        self.actions.iter().any(|a| {
            !a.seeded
                && a.at < turn.index
                && turn.index - a.at <= 2
                && a.item
                    .owner
                    .as_ref()
                    .is_some_and(|o| o.eq_ignore_ascii_case(&turn.message.author))
        })
    }

    /// What "let's do that" points to: the latest proposal in reach from someone
    /// else, or else the message just before from someone else (a proposal put
    /// as a question: "2 for linkedin, 1 for the landing page?"). "both" points
    /// to a message that names two things. The commit settles the proposals in
    /// reach, so none of them is accepted later on its own.
    fn pointed_decision(&mut self, turn: &Turn<'_>, all: &[Message], both: bool) -> Option<String> {
        let author = &turn.message.author;
        let names_two = |t: &str| {
            let l = t.lower();
            [" + ", " and ", " or ", " & ", " plus "]
                .iter()
                .any(|c| l.contains(c))
        };
        let proposal = self.proposals.iter().rposition(|p| {
            !p.author.eq_ignore_ascii_case(author)
                && State::in_reach(turn, p.at, &p.thread)
                && (!both || all.get(p.at).is_some_and(|m| names_two(&m.text)))
        });
        let text = match proposal {
            Some(i) => Some(self.proposals.remove(i).text),
            None => all[turn.index.saturating_sub(3)..turn.index]
                .iter()
                .rev()
                .filter(|m| {
                    !m.author.eq_ignore_ascii_case(author)
                        && !self.is_agent(&m.author)
                        && m.thread_id == turn.message.thread_id
                })
                .find_map(|m| {
                    let sents = sentences(&without_quotes(&m.text));
                    let [s] = sents.as_slice() else {
                        return None;
                    };
                    let l = trim_filler(&s.text).lower();
                    let wh = FACT_QUESTIONS
                        .iter()
                        .chain(&["what", "how", "which"])
                        .any(|f| strip_word_prefix(&l, f).is_some());
                    (!wh && (!both || names_two(&s.text)) && content_words(&s.text).len() >= 3)
                        .then(|| decision_text(s.text.trim_end_matches(['?', ' '])))
                }),
        }?;
        self.proposals.retain(|p| {
            p.author.eq_ignore_ascii_case(author) || !State::in_reach(turn, p.at, &p.thread)
        });
        Some(text)
    }

    /// A recent proposal from someone else (its first clause) that names every
    /// word of a short settled `choice` and more.
    fn fuller_choice(&self, choice: &str, turn: &Turn<'_>, all: &[Message]) -> Option<String> {
        let words = content_words(choice);
        if words.is_empty() || choice.split_whitespace().count() > 3 {
            return None;
        }
        all[turn.index.saturating_sub(6)..turn.index]
            .iter()
            .rev()
            .filter(|m| {
                !m.author.eq_ignore_ascii_case(&turn.message.author) && !self.is_agent(&m.author)
            })
            .flat_map(|m| sentences(&without_quotes(&m.text)))
            .filter(|s| !s.question)
            .find_map(|s| {
                let clause = s.text.split(", ").next().unwrap_or(&s.text);
                let mut c = trim_filler(clause);
                while let Some(rest) = ["or", "just", "maybe", "simply"]
                    .iter()
                    .find_map(|w| strip_word_prefix(c, w))
                {
                    c = rest;
                }
                let lower = c.lower();
                let cw = content_words(c);
                (words.is_subset(&cw)
                    && cw.len() > words.len()
                    && (imperative_plan(&lower)
                        || we_plan(&lower)
                        || has_phrase(&lower, cues::PROPOSAL_CUES)))
                .then(|| decision_text(c))
            })
    }

    /// Whether `turn` replies to someone else's "can we …?" / "do we really …?"
    /// (in its thread, or just before it at top level).
    fn answers_we_question(&self, turn: &Turn<'_>, all: &[Message]) -> bool {
        all[turn.index.saturating_sub(3)..turn.index]
            .iter()
            .filter(|m| {
                !m.author.eq_ignore_ascii_case(&turn.message.author)
                    && match turn.message.thread_id.as_deref() {
                        Some(root) => m.id == root || m.thread_id.as_deref() == Some(root),
                        None => m.thread_id.is_none(),
                    }
            })
            .flat_map(|m| sentences(&without_quotes(&m.text)))
            .any(|s| {
                s.question
                    && ASKING_WE
                        .iter()
                        .any(|p| find_phrase(&s.text.lower(), p).is_some())
            })
    }

    fn propose(&mut self, turn: &Turn<'_>, text: String) {
        // "QOS is configured, tested …": a report of work done, not a choice
        // ("only the last 2 years, the older stuff is outdated" gives a reason).
        let lower = text.lower();
        let head = lower.split(", ").next().unwrap_or(&lower);
        if !substantive(&text)
            || super::actions::passive_report(head)
            || super::actions::headline_report(head)
        {
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

    /// "launch date still 3rd of june?" — "yes": a plan put as a bare yes/no
    /// question (no "do we", no question word), confirmed by someone else.
    fn confirmed_plan(&self, turn: &Turn<'_>, all: &[Message]) -> Option<String> {
        let bare_yes = ["yes", "yep", "yup", "yeah", "correct", "confirmed"]
            .iter()
            .any(|y| {
                turn.clean
                    .trim()
                    .trim_end_matches(['.', '!'])
                    .eq_ignore_ascii_case(y)
            });
        if !bare_yes {
            return None;
        }
        let asked = answered(turn, all)?;
        let sents = sentences(&without_quotes(&asked.text));
        let [question] = sents.as_slice() else {
            return None;
        };
        let q = trim_filler(&question.text).lower();
        const OPENERS: &[&str] = &[
            "what", "why", "how", "who", "when", "where", "which", "is", "are", "do", "does",
            "did", "can", "could", "should", "shall", "will", "would", "have", "has", "any",
            "anyone", "anybody", "you", "i", "we", "it", "that", "this", "and", "or", "so",
        ];
        let opener = q.split_whitespace().next().unwrap_or("");
        // "Nico can you update the wiki?" — "yes" takes work; it decides nothing.
        let asks_someone = self.member(opener.trim_end_matches(',')).is_some()
            || crate::text::words(&q)
                .iter()
                .any(|w| w == "you" || w == "u");
        (question.question
            && !asks_someone
            && !OPENERS.contains(&opener)
            && !q.contains(" or ")
            && content_words(&q).len() >= 3
            && q.split_whitespace().count() <= 8)
            .then(|| capitalise(q.trim_end_matches(['?', ' '])))
    }

    /// A reply to "should we X?" / "do we X?" from someone else: "yes, …" makes
    /// X a proposal; echoing the verb ("keep it") settles it.
    fn answer(&self, turn: &Turn<'_>, all: &[Message], lower: &str) -> Option<(String, bool)> {
        let asked = answered(turn, all)?;
        let question = sentences(&without_quotes(&asked.text))
            .into_iter()
            .find(|s| s.question)?;
        let q = trim_filler(&question.text).lower();
        let q = ["question", "q"]
            .iter()
            .find_map(|m| strip_word_prefix(&q, m))
            .unwrap_or(&q)
            .to_owned();
        let clause = ASKING_WE
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
        let raw = turn.clean.trim().lower();
        let rest = ["yes", "yep", "yeah", "yup", "definitely", "absolutely"]
            .iter()
            .find_map(|y| strip_word_prefix(&raw, y))?;
        // "yes please, otherwise they all write to us": the reason is not the answer.
        let rest = trim_filler(rest.trim_start_matches([',', '.', '!', ' ']));
        let rest = strip_word_prefix(rest, "please")
            .map(|r| r.trim_start_matches([',', '.', '!', ' ']))
            .unwrap_or(rest);
        let reason = [
            "otherwise",
            "because",
            "since",
            "as",
            "so",
            "it's",
            "its",
            "that's",
        ]
        .iter()
        .any(|w| strip_word_prefix(rest, w).is_some());
        let rest = sentences(rest)
            .into_iter()
            .next()
            .map(|s| s.text)
            .filter(|_| !reason);
        // A full answer stands alone; a short one completes the question.
        let text = match rest {
            Some(r) if content_words(&r).len() >= 4 => r,
            Some(r) if content_words(&r).len() >= 2 => format!("{clause}: {r}"),
            _ => clause,
        };
        // The asker proposed by asking; another member's "yes" accepts it.
        Some((capitalise(&shorten(&text, MAX_ITEM_WORDS)), true))
    }

    /// A reply that agrees turns the proposal it answers into a decision; one that
    /// pushes back withdraws a fresh unapproved decision.
    pub(super) fn accept_proposals(&mut self, turn: &Turn<'_>, all: &[Message]) {
        // "yes" to "can I …?" lets the asker; it accepts no proposal.
        if permission_granted(turn, all).is_some() {
            return;
        }
        // Agreement words are filler elsewhere: look at the raw opening too.
        let raw = turn.clean.trim().lower();
        let lower = trim_filler(&turn.clean).lower();
        let starts = |t: &str, a: &str| t.starts_with(a) && find_phrase(t, a).is_some();
        let agreement = cues::AGREEMENT
            .iter()
            .find(|a| starts(&raw, a) || starts(&lower, a));
        // "ok" on its own accepts; "ok I'll …" only acknowledges.
        let bare_ok =
            ["ok", "okay", "ok!", "okay!", "ok.", "k", "kk", "ok ok"].contains(&raw.as_str());
        // "tuesday works for me": the agreement closes a short first sentence.
        let first_sentence = sentences(&raw).into_iter().next().map(|s| s.text);
        let closing = first_sentence.as_deref().and_then(|f| {
            (f.split_whitespace().count() <= 5)
                .then(|| AGREEMENT_ENDINGS.iter().find(|e| f.ends_with(*e)))
                .flatten()
        });
        let agreement = agreement.or(bare_ok.then_some(&"ok")).or(closing);
        // "ok power for 2%", "fine, 5.0 requires 3.9+": an acknowledgement that
        // restates a choice someone asked about (only a restatement counts).
        let acked = agreement.is_none()
            && ACKNOWLEDGEMENTS
                .iter()
                .any(|a| strip_word_prefix(&raw, a).is_some())
            && self.asked_recently(turn, all, &lower);
        let agreement = agreement.or(acked.then_some(&""));
        // "ok 1st june" after "maybe a 2 week sprint starting 1st of june": an
        // acknowledgement that echoes a proposal accepts it.
        if agreement.is_none()
            && let Some(rest) = ACKNOWLEDGEMENTS
                .iter()
                .find_map(|a| strip_word_prefix(&raw, a))
            && !rest.is_empty()
            && !["i ", "i'll ", "i will ", "will ", "but "]
                .iter()
                .any(|p| rest.starts_with(p))
            && let Some(pos) = self.proposals.iter().rposition(|p| {
                !p.author.eq_ignore_ascii_case(&turn.message.author)
                    && State::in_reach(turn, p.at, &p.thread)
                    && content_words(rest).is_subset(&content_words(&p.text))
                    && content_words(rest).len() >= 2
            })
        {
            let p = self.proposals.remove(pos);
            self.decide_proposal(turn, p);
            return;
        }
        // "ok, i write the mail today" after "send a mail first, then delete …":
        // taking up the work an instruction implies accepts the instruction.
        if agreement.is_none()
            && let Some(rest) = ["ok", "okay"]
                .iter()
                .find_map(|a| strip_word_prefix(&raw, a))
            && ["i ", "i'll ", "i will ", "will "]
                .iter()
                .any(|p| rest.starts_with(p))
            && let Some(pos) = self.proposals.iter().rposition(|p| {
                !p.author.eq_ignore_ascii_case(&turn.message.author)
                    && State::in_reach(turn, p.at, &p.thread)
                    && turn.index - p.at <= 2
                    && imperative(&p.text.lower())
            })
        {
            let p = self.proposals.remove(pos);
            self.decide_proposal(turn, p);
            return;
        }
        // The agreeing sentence is short; what follows may explain it.
        let short = sentences(&raw)
            .first()
            .is_some_and(|s| s.text.split_whitespace().count() <= 8);
        // "agreed, dropping that" agrees to drop.
        // (A condition after it — "but only for orders not yet delivered" —
        // narrows the agreement; its "not" does not turn it down.)
        let unconditioned = [", but only ", " but only ", ", only if ", " as long as "]
            .iter()
            .filter_map(|c| lower.find(c))
            .min()
            .map_or(lower.as_str(), |i| &lower[..i]);
        let negative = has_phrase(
            unconditioned,
            &["not", "no", "drop", "dropping", "skip", "don't"],
        );
        // "hmm" is filler elsewhere but pushback here.
        // A bare "no" pushes back ("no, …", "no."); "no idea", "no weekend work"
        // go on with something else.
        let bare_no = |t: &str| {
            t.strip_prefix("no").is_some_and(|r| {
                r.is_empty()
                    || r.starts_with([',', '.', '!', ';', ' '])
                        && !prohibition(t)
                        && !r.starts_with(" idea")
                        && !r.starts_with(" worries")
                        && !r.starts_with(" problem")
            })
        };
        let disagrees = cues::DISAGREEMENT.iter().any(|d| {
            let pushes = |t: &str| strip_word_prefix(t, d).is_some() && (*d != "no" || bare_no(t));
            pushes(&lower) || pushes(&raw)
        });
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
        // What follows the agreement word itself ("fine by me but …" → "but …").
        let after = agreement
            .and_then(|a| raw.strip_prefix(a))
            .map(trim_filler)
            .unwrap_or("");
        // "fine by me but we need a note first": agreement with a condition.
        let conditional = ["but", "as long as", "if", "only if", "provided"]
            .iter()
            .any(|c| strip_word_prefix(after, c).is_some());
        // "agreed, purchases per session is the metric": the agreement restates it.
        let restated = agreement
            .filter(|_| !acknowledges && !conditional)
            .and_then(|_| {
                // What follows the agreement words ("I like that, X" → "X").
                let rest = if after.is_empty() {
                    trim_filler(&raw)
                } else {
                    after
                };
                let first = sentences(rest).into_iter().next()?;
                // "yes please, otherwise …": a reason, not a restatement.
                if ["please", "otherwise", "because", "since"]
                    .iter()
                    .any(|w| strip_word_prefix(&first.text, w).is_some())
                {
                    return None;
                }
                // It answers something: a question in its thread or just before
                // it from someone else, or a proposal.
                let asked_before = all[turn.index.saturating_sub(2)..turn.index]
                    .iter()
                    .any(|m| {
                        !m.author.eq_ignore_ascii_case(&turn.message.author)
                            && m.thread_id.is_none()
                            // "… bouncy castle …, book it again?" — "agreed,
                            // bouncy castle again" answers it in its words.
                            && (sentences(&without_quotes(&m.text)).iter().any(|s| {
                                s.question
                                    && !FACT_QUESTIONS.iter().any(|f| {
                                        strip_word_prefix(&s.text.lower(), f).is_some()
                                    })
                                    && shared_words(&s.text, &first.text) >= 2
                            }) || sentences(&without_quotes(&m.text)).iter().any(|s| {
                                // "what if we start with X?" proposes by asking.
                                s.question
                                    && has_phrase(
                                        &s.text.lower(),
                                        &[
                                            "what if",
                                            "how about",
                                            "what about",
                                            "should we",
                                            "why don't we",
                                        ],
                                    )
                            }))
                    });
                let reply = turn.context.contains('?')
                    || asked_before
                    || acked
                    || self
                        .proposals
                        .iter()
                        .any(|p| State::in_reach(turn, p.at, &p.thread));
                // "sure, will have a draft by Friday" promises work; it restates nothing.
                let promise = has_phrase(&first.text.lower(), cues::SELF_COMMIT)
                    || strip_word_prefix(&first.text, "will").is_some();
                (reply
                    && !first.question
                    && !promise
                    // (a restated choice may be short: "ok power for 2%")
                    && content_words(&first.text).len() >= if acked { 2 } else { 3 }
                    // "…, the rest later": only the first clause can hedge it.
                    && !hedged(head(&first.text.lower()))
                    && !negative)
                    .then(|| decision_text(&first.text))
            });
        if let Some(text) = restated {
            // "yes, agreed. 4 backup for one month" after "keep 4 as backup for
            // one month, then give back": the proposal says it in full.
            let fuller = self.proposals.iter().rposition(|p| {
                !p.author.eq_ignore_ascii_case(author)
                    && State::in_reach(turn, p.at, &p.thread)
                    && shared_words(&p.text, &text) >= 2
                    && content_words(&p.text).len() > content_words(&text).len()
            });
            if let Some(pos) = fuller {
                let p = self.proposals.remove(pos);
                self.decide_proposal(turn, p);
                return;
            }
            let lower = text.lower();
            self.add_decision(turn, text, &lower);
            return;
        }
        // An acknowledgement that restates nothing accepts nothing.
        let agreement = agreement.filter(|_| !acked);
        let short = short || conditional;
        // "fair. Decision: …" states its own decision; the marker wins.
        // "I like that. Let's train both variants …": it decides in its own words.
        let own_decision = turn.clean.lines().any(|l| {
            super::line_marker(super::marker_sentence(l), cues::DECISION_MARKERS).is_some()
        }) || sentences(&turn.clean).iter().any(|s| {
            // "fair, weblate it is": the agreement names its own choice.
            let (core, _) = lead_trim(&s.text);
            !s.question && it_is(&core.lower(), core).is_some()
        }) || sentences(&turn.clean).iter().skip(1).any(|s| {
            let lower = trim_filler(&s.text).lower();
            !s.question
                && (committing_lets(&lower)
                    || cues::DECISION_OPENERS
                        .iter()
                        .any(|o| strip_word_prefix(&lower, o).is_some()))
        });
        if agreement.is_some() && short && !disagrees && !negative && !acknowledges && !own_decision
        {
            let pos = self.proposals.iter().rposition(|p| {
                !p.author.eq_ignore_ascii_case(author)
                    && p.at < turn.index
                    && (turn.index - p.at <= 2
                        || turn.message.thread_id.is_some() && p.thread == turn.thread)
            });
            // A message that proposed several things is agreed with for its lead.
            let pos = pos.and_then(|i| {
                let at = self.proposals[i].at;
                self.proposals.iter().position(|p| p.at == at)
            });
            // Agreement goes to what was said last: a decision after the proposal.
            let pos = pos.filter(|&i| {
                self.decisions
                    .last()
                    // (one that decided and proposed at once is confirmed as decided)
                    .is_none_or(|d| d.seeded || d.at < self.proposals[i].at)
            });
            // "let's do it, but only for orders not yet delivered": agreed with
            // that condition.
            let condition = conditional
                .then(|| strip_word_prefix(after, "but").unwrap_or(after).trim())
                .filter(|c| {
                    ["only", "as long as", "if", "provided", "except"]
                        .iter()
                        .any(|w| strip_word_prefix(c, w).is_some())
                        && content_words(c).len() >= 2
                })
                .and_then(|c| sentences(c).into_iter().next())
                .map(|c| c.text);
            let with_condition = |text: &str| match &condition {
                Some(c) => format!("{}, {c}", text.trim_end_matches(['.', ','])),
                None => text.to_owned(),
            };
            // The condition narrows a decision someone else just made.
            if pos.is_none()
                && condition.is_some()
                && let Some(last) = self.decisions.last_mut()
                && !last.seeded
                && turn.index - last.at <= 2
                && all
                    .get(last.at)
                    .is_some_and(|m| !m.author.eq_ignore_ascii_case(author))
            {
                last.item.text = with_condition(&last.item.text);
            }
            if let Some(pos) = pos {
                let mut p = self.proposals.remove(pos);
                p.text = with_condition(&p.text);
                self.decide_proposal(turn, p);
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
    /// An agreed proposal becomes a decision, dated and sourced where it was
    /// proposed.
    fn decide_proposal(&mut self, turn: &Turn<'_>, p: super::Proposal) {
        let lower = p.text.lower();
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

    fn add_decision_from(&mut self, turn: &Turn<'_>, text: String, lower: &str, source: String) {
        let reverses = has_phrase(lower, cues::REVERSAL)
            || lower.starts_with("no ")
            || lower.starts_with("not ");
        let mut best: Option<(usize, f64)> = None;
        for (i, d) in self.decisions.iter().enumerate() {
            let sim = similarity(&d.item.text, &text);
            let shared = shared_words(&d.item.text, &format!("{text} {lower} {}", turn.context));
            // A provisional decision ("dates TBD") gives way to any later one on its subject.
            let provisional = has_phrase(&d.item.text.lower(), cues::PROVISIONAL);
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
        // "switching to X instead": replaces the decision just made, in new words.
        if best.is_none()
            && (has_phrase(lower, &["switching to", "switch to"])
                || has_phrase(lower, &["instead"]) && !has_phrase(lower, &["instead of"]))
            && let Some(last) = self.decisions.last()
            && !last.seeded
            && turn.index.saturating_sub(last.at) <= 8
        {
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

/// "can I keep the 4 nodes until wednesday?": the asker's plan, if let.
const PERMISSION_ASKS: &[&str] = &[
    "can i",
    "could i",
    "may i",
    "is it ok if i",
    "is it okay if i",
    "ok if i",
    "okay if i",
    "would it be ok if i",
];

/// Words that grant what was asked.
const GRANTS: &[&str] = &[
    "yes",
    "yeah",
    "yep",
    "yup",
    "sure",
    "ok",
    "okay",
    "fine",
    "go ahead",
    "of course",
    "no problem",
    "absolutely",
];

/// "can I keep the 4 nodes until wednesday?" — "yes, …" from someone else:
/// the group lets the asker do it, so the decision is theirs, in their
/// words ("Sören keeps the 4 nodes until wednesday").
pub(super) fn permission_granted(turn: &Turn<'_>, all: &[Message]) -> Option<String> {
    let raw = turn.clean.trim().lower();
    let grant = GRANTS.iter().find_map(|g| strip_word_prefix(&raw, g))?;
    // "yes, but not this week" grants something else.
    let grant = grant.trim_start_matches([',', '.', '!', ' ']);
    if ["but", "not", "no", "only"]
        .iter()
        .any(|w| strip_word_prefix(grant, w).is_some())
    {
        return None;
    }
    let asked = answered(turn, all)?;
    let question = sentences(&without_quotes(&asked.text))
        .into_iter()
        .rev()
        .find(|s| s.question)?;
    let q = trim_filler(&question.text);
    // "one more: can I …": a short label is not the question.
    let q = match q.split_once(": ") {
        Some((label, rest)) if label.split_whitespace().count() <= 3 => rest.trim(),
        _ => q,
    };
    let lower = q.lower();
    let plan = PERMISSION_ASKS
        .iter()
        .find_map(|p| strip_word_prefix(&lower, p))?;
    // The plan as the asker wrote it ("the 6 GPUs"), where casing kept its length.
    let plan = q
        .get(q.len().saturating_sub(plan.len())..)
        .filter(|orig| orig.lower() == plan)
        .unwrap_or(plan)
        .trim()
        .trim_end_matches(['?', '.', ' ']);
    let (verb, rest) = plan.split_once(' ').unwrap_or((plan, ""));
    if verb.is_empty() || !verb.chars().all(char::is_alphabetic) || content_words(rest).is_empty() {
        return None;
    }
    // "can I ask something?" asks to talk, not to do.
    if ["ask", "say", "add", "just", "also", "get", "help"].contains(&verb) {
        return None;
    }
    let text = format!("{} {} {rest}", asked.author, verbs::third_person(verb));
    Some(shorten(&text, MAX_ITEM_WORDS))
}

/// The message a reply answers: its thread's root, or the message just before
/// it; none when the author answers themselves.
pub(super) fn answered<'m>(turn: &Turn<'_>, all: &'m [Message]) -> Option<&'m Message> {
    let asked = match turn.message.thread_id.as_deref() {
        Some(root) => all[..turn.index].iter().find(|m| m.id == root)?,
        None => all.get(turn.index.checked_sub(1)?)?,
    };
    (!asked.author.eq_ignore_ascii_case(&turn.message.author)).then_some(asked)
}
