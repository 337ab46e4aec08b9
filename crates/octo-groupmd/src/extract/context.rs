//! Items that say too little on their own ("Look at that", "Fix the
//! validation", "Use CronJobs") get their object from the conversation around
//! them: the request, question or proposal they answer, in the same thread (or
//! at top level), a few messages back. A note-taker writes the task so it can
//! be read without the chat; this pass does the same, once every message is read.

use std::collections::BTreeSet;

use super::decisions::{ASKING_WE, choice_question};
use super::{State, cues};
use crate::model::{Member, Message};
use crate::text::Lower as _;
use crate::text::{
    capitalise, content_words, find_phrase, sentences, shared_words, strip_word_prefix,
    trim_filler, without_parentheses, without_quotes, words,
};

/// Words that stand for something said before.
const POINTERS: &[&str] = &[
    "that", "it", "this", "those", "them", "these", "one", "both", "thing", "stuff",
];

/// Words that say when or how, not what.
const NOT_OBJECT: &[&str] = &[
    "today",
    "tomorrow",
    "tonight",
    "now",
    "later",
    "asap",
    "first",
    "next",
    "week",
    "morning",
    "afternoon",
    "evening",
    "again",
    "anyway",
    "quickly",
    "soon",
];

/// Whether a word says when or how rather than what.
fn not_object(word: &str) -> bool {
    NOT_OBJECT.contains(&word) || cues::WEEKDAYS.contains(&word)
}

/// Verbs that claim work without naming it.
const CLAIM_VERBS: &[&str] = &["do", "take", "handle", "own", "grab", "get", "make"];

/// Verbs of asking someone: without a topic ("ask Hannah") they say nothing.
/// Words that give an asking task its topic.
const TOPIC: &[&str] = &[
    "about", "whether", "if", "what", "how", "when", "why", "which", "for", "to", "on",
];

/// Verbs of finding something out from someone ("check with Anke").
const ASKING_VERBS: &[&str] = &["ask", "check", "confirm", "talk", "sync", "consult"];

/// How many earlier messages (in the item's thread) can hold its object.
const WINDOW: usize = 6;

/// How far back a task's object can be without a word in common: someone
/// taking on "it" answers the last message or the one before.
const ACTION_REACH: usize = 2;

/// Content words that say what the item is about: not member names, not when.
fn object_words(text: &str, members: &[Member]) -> Vec<String> {
    content_words(text)
        .into_iter()
        .filter(|w| w.chars().count() > 1 || w.chars().all(|c| c.is_ascii_digit()))
        .filter(|w| !not_object(w) && !POINTERS.contains(&w.as_str()))
        .filter(|w| !members.iter().any(|m| m.name.eq_ignore_ascii_case(w)))
        .collect()
}

/// The words after a task's verb (and its particle: "pick up", "look at").
fn after_verb(text: &str) -> Vec<String> {
    let ws = words(text);
    let skip = match ws.get(1).map(String::as_str) {
        Some("up" | "at" | "into" | "over" | "out" | "back" | "on") => 2,
        _ => 1,
    };
    ws.into_iter().skip(skip).collect()
}

/// Whether an action item's text needs its object from context: a verb
/// alone ("Do", "Check"), a pointer for its object with little else ("Look at
/// that", "Move both", "Put it in the macro doc"), a claim verb with one word
/// ("Do the submission"), a verb going straight to a preposition ("Share on
/// monday"), or asking someone without a topic ("Ask Marta in finance").
pub(super) fn vague_action(text: &str, members: &[Member]) -> bool {
    let rest = after_verb(text);
    let verb = words(text).into_iter().next().unwrap_or_default();
    let own = object_words(&rest.join(" "), members);
    if own.is_empty() {
        return true;
    }
    let object = rest.first().map_or("", String::as_str);
    if POINTERS.contains(&object) && own.len() <= 2 {
        return true;
    }
    // "Ask the controller to open it": the object is the pointer at the end.
    // "with them" names people, not the object.
    let (last, before_last) = match rest.as_slice() {
        [.., b, l] => (l.as_str(), b.as_str()),
        _ => ("", ""),
    };
    if ["it", "that", "this"].contains(&last)
        && ![
            "with", "to", "for", "about", "on", "in", "at", "of", "from", "by",
        ]
        .contains(&before_last)
        && own.len() <= 3
    {
        return true;
    }
    if CLAIM_VERBS.contains(&verb.as_str()) && own.len() <= 1 {
        return true;
    }
    // "Review, its a lot of yaml", "Share on monday" ("confirm with them for
    // 120 guests" has its object after "with").
    let lower = text.lower();
    let first = lower.split_whitespace().next().unwrap_or("");
    if first.ends_with(',') || ["on", "in", "by", "until", "after", "before"].contains(&object) {
        return true;
    }
    // "Ask Marta in finance", "Check with Anke": whom, not what.
    let whom = verb == "ask"
        || ASKING_VERBS.contains(&verb.as_str())
            && rest.first().is_some_and(|w| w == "with" || w == "to");
    whom && !rest.iter().skip(1).any(|w| TOPIC.contains(&w.as_str()))
}

/// Whether a decision's text needs its subject from context: "Use CronJobs",
/// "Use option C" (one word of its own after the verb), "Do that for 1.3.2"
/// (a pointer for its object).
pub(super) fn vague_decision(text: &str, members: &[Member]) -> bool {
    let ws = words(text);
    let verb = ws.first().map_or("", String::as_str);
    let rest = after_verb(text);
    let pointer = rest
        .first()
        .is_some_and(|w| ["it", "that", "this"].contains(&w.as_str()));
    (["use", "do", "go"].contains(&verb) && object_words(&rest.join(" "), members).len() <= 1)
        || pointer && CLAIM_VERBS.contains(&verb)
}

/// Lead-ins that open a topic or a proposal without being it.
const LEAD_INS: &[&str] = &[
    "could we",
    "can we",
    "should we",
    "shall we",
    "do we",
    "are we",
    "will we",
    "we should",
    "we could",
    "we need to",
    "we must",
    "what if we",
    "how about we",
    "how about",
    "why don't we",
    "why not",
    "maybe",
    "i think",
    "i'd",
    "i would",
    "proposal",
    "question",
    "still open",
    "what about",
    "one thing",
    "other topic",
    "next",
];

/// Words that report someone else's request: what follows is the work.
const REPORTED_ASKS: &[&str] = &[
    "asked if we can",
    "asked if we could",
    "asked whether we can",
    "asked whether we could",
    "asks if we can",
    "asks if we could",
    "asked us to",
    "asks us to",
    "want us to",
    "wants us to",
];

/// One clause of the conversation an item may point at.
#[derive(Debug, PartialEq)]
pub(super) struct Clause {
    pub text: String,
    pub question: bool,
    /// Asked of nobody in particular ("who submits the build?", "can someone
    /// chase the bank?"): the work itself, as a task.
    pub task: Option<String>,
    /// Asked as "do we …?", "should we …?": the clause lost its "we".
    pub asked_we: bool,
}

/// The self-contained part of a sentence, without a short lead-in ("other
/// topic -", "question for everyone:") or proposal opener, cut at a clause
/// with its own subject. `None` when it points back itself, speaks for its
/// author ("I got two quotes", "i'll take the traps") or reports work done
/// ("Booked the confocal …"): that is not what an item is about.
pub(super) fn context_clause(sentence: &str, question: bool) -> Option<Clause> {
    // "(flaky, 3rd time this week)": an aside, not the subject.
    let sentence = without_parentheses(sentence);
    let mut t = trim_filler(&sentence).to_owned();
    // "@docbot what's …", "Nils, who submits …": the addressee is not the subject.
    if t.starts_with('@') {
        t = t
            .split_once(' ')
            .map_or(String::new(), |(_, r)| trim_filler(r).to_owned());
    }
    // "macro question, …", "other topic - …", "last thing: …".
    for sep in [": ", " - ", " \u{2014} ", ", "] {
        if let Some((head, rest)) = t.split_once(sep)
            && head.split_whitespace().count() <= 3
            && content_words(rest).len() >= 3
            && !head.contains('?')
        {
            t = trim_filler(rest).to_owned();
            break;
        }
    }
    let first = words(&t).into_iter().next().unwrap_or_default();
    if ["i", "im", "ill", "ive", "id", "me", "my", "you", "youre"].contains(&first.as_str())
        || POINTERS.contains(&first.as_str())
        || first.len() > 4 && first.ends_with("ed")
    {
        return None;
    }
    let lower = t.lower();
    let task = super::actions::who_request(&lower)
        .or_else(|| who_does(&lower))
        .or_else(|| {
            cues::OPEN_REQUESTS
                .iter()
                .find_map(|c| strip_word_prefix(&lower, c))
                .map(str::to_owned)
        })
        .map(|task| cut_clause(&task));
    // "the community team asked if we can put a known issues post on steam":
    // what was asked for is the topic, not who asked.
    let lower = t.lower();
    if let Some(rest) = REPORTED_ASKS.iter().find_map(|a| {
        find_phrase(&lower, a)
            .filter(|_| lower.len() == t.len())
            .and_then(|i| t.get(i + a.len()..))
            .filter(|r| content_words(r).len() >= 2)
    }) {
        t = rest.trim().to_owned();
    }
    let mut asked_we = false;
    for _ in 0..2 {
        let lower = t.lower();
        if let Some((lead, rest)) = LEAD_INS
            .iter()
            .find_map(|p| strip_word_prefix(&lower, p).map(|r| (p, r)))
        {
            asked_we |= question && lead.ends_with(" we") && !lead.starts_with("we");
            let rest = rest.trim_start_matches([' ', ',', ':', '-']);
            t = t[t.len() - rest.len()..].to_owned();
            t = trim_filler(&t).to_owned();
        }
    }
    let t = cut_clause(&t);
    (content_words(&t).len() >= 3).then(|| Clause {
        text: capped(&t),
        question,
        task: task.filter(|t| content_words(t).len() >= 2),
        asked_we,
    })
}

/// Words a clause cannot end on: it goes on after them.
const DANGLING: &[&str] = &[
    "a", "an", "the", "to", "for", "of", "on", "in", "at", "by", "with", "from", "and", "or",
    "but", "is", "are", "was", "were", "be", "will", "can", "could", "would", "should", "has",
    "have", "had", "not", "no", "my", "our", "your", "their", "his", "her", "its", "that", "which",
    "who", "if", "so", "as", "than", "into", "about", "very", "still",
];

/// A context clause kept short (ten words) without ending mid-phrase: a long
/// one is cut at a conjunction first ("… on thursday but nobody is here"),
/// and the cut never leaves it on a word that needs more ("… rooms for").
fn capped(t: &str) -> String {
    const MAX: usize = 10;
    let ws: Vec<&str> = t.split_whitespace().collect();
    if ws.len() <= MAX {
        return t.to_owned();
    }
    let conjunction = ws
        .iter()
        .enumerate()
        .skip(3)
        .find(|(_, w)| {
            ["but", "and", "because", "so", "which", "while"].contains(&w.lower().as_str())
        })
        .map(|(i, _)| i);
    let mut end = match conjunction {
        Some(i) if i <= MAX + 2 => i,
        _ => MAX,
    };
    while end > 3 && DANGLING.contains(&bare(ws[end - 1]).0.lower().as_str()) {
        end -= 1;
    }
    ws[..end]
        .join(" ")
        .trim_end_matches([',', ';', ':', '-', ' '])
        .to_owned()
}

/// "who submits the build to Nintendo" → "submit the build to Nintendo".
pub(super) fn who_does(lower: &str) -> Option<String> {
    let rest = lower.strip_prefix("who ")?;
    let verb = rest.split_whitespace().next()?;
    let base = verb
        .strip_suffix("es")
        .filter(|b| b.ends_with("sh") || b.ends_with("ch") || b.ends_with('s'))
        .or_else(|| verb.strip_suffix('s'))
        .filter(|b| b.len() > 2 && !b.ends_with('s'))?;
    let task = rest[verb.len()..].trim();
    (!task.is_empty() && !["is", "was", "has", "does"].contains(&verb))
        .then(|| format!("{base} {task}"))
}

/// Cut at a comma opening a clause with its own subject ("…, it just silently
/// accepts them") or at a comparison ("… rather than …").
fn cut_clause(t: &str) -> String {
    let lower = t.lower();
    let comma = lower.match_indices(", ").map(|(i, _)| i).find(|&i| {
        let rest = &lower[i + 2..];
        [
            "it",
            "they",
            "we",
            "i",
            "that",
            "that's",
            "this",
            "which",
            "otherwise",
            "but",
            "so",
            "because",
            "last",
            "no",
        ]
        .iter()
        .any(|w| strip_word_prefix(rest, w).is_some())
    });
    let end = [comma, lower.find(" rather than "), lower.find("? ")]
        .into_iter()
        .flatten()
        .filter(|&i| lower[..i].split_whitespace().count() >= 3 && t.is_char_boundary(i))
        .min()
        .unwrap_or(t.len());
    t[..end]
        .trim_end_matches(['?', '.', '!', ',', ' '])
        .to_owned()
}

/// The first sentence of a message with three content words or more, as a clause.
fn message_clause(text: &str) -> Option<Clause> {
    let clean = without_quotes(text);
    let s = sentences(&clean)
        .into_iter()
        .find(|s| content_words(&s.text).len() >= 3)?;
    context_clause(&s.text, s.question)
}

/// The clause `text` most likely points at: an earlier sentence of its own
/// message `at`, or an earlier message in the same thread (or at top level),
/// within [`WINDOW`] messages; ones that share words with `text` and questions
/// first, then the nearest. The clause must add four words of its own.
/// Commands to an agent ("@bot how much space …") are lookups, not topics.
/// A clause more than `reach` messages back counts only if it shares a word
/// with `text`: by then the chat has moved on to other things.
pub(super) fn context_for(
    text: &str,
    at: usize,
    all: &[Message],
    members: &[Member],
    reach: usize,
) -> Option<Clause> {
    let src = all.get(at)?;
    let to_agent = |m: &Message| {
        let first = m.text.split_whitespace().next().unwrap_or("");
        first.starts_with('@')
            && members
                .iter()
                .any(|x| x.agent && x.name.eq_ignore_ascii_case(first.trim_start_matches('@')))
    };
    let own = content_words(text);
    // "notifications and image-resizer are easy. I can move both": the
    // sentences before the one the item came from.
    let clean = without_quotes(&src.text);
    let src_sentences = sentences(&clean);
    let item_at = src_sentences
        .iter()
        .position(|s| shared_words(&s.text, text) > 0)
        .unwrap_or(src_sentences.len());
    let own_clauses = src_sentences[..item_at]
        .iter()
        .rev()
        .filter_map(|s| context_clause(&s.text, s.question))
        .map(|c| (-1.0, c));
    let earlier = all[..at]
        .iter()
        .rev()
        .filter(|m| same_conversation(src, m))
        .take(WINDOW)
        .enumerate()
        .filter(|(_, m)| !to_agent(m))
        .filter_map(|(rank, m)| message_clause(&m.text).map(|c| ((rank + 1) as f64, c)));
    let mut best: Option<(f64, Clause)> = None;
    for (distance, clause) in own_clauses.chain(earlier) {
        let new = object_words(&clause.text, members)
            .into_iter()
            .filter(|w| !own.contains(w) && !w.chars().all(|c| c.is_ascii_digit()))
            .count();
        if new < 4 && clause.task.is_none() {
            continue;
        }
        let shared = shared_words(text, &clause.text);
        // An open call ("who writes which question?") is answered by one
        // member after another, so its claims may come later.
        let open_call = clause.task.is_some() && bare_claim(text);
        if distance > reach as f64 && shared == 0 && !open_call {
            continue;
        }
        let score = 4.0 * shared as f64
            + if clause.question && clause.task.is_none() {
                2.5
            } else {
                0.0
            }
            - distance;
        if best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((score, clause));
        }
    }
    best.map(|(_, c)| c)
}

/// An item without the pointers it ends with ("Handle that" → "Handle").
fn without_pointers(text: &str) -> String {
    let mut head: Vec<&str> = text.split_whitespace().collect();
    while head.last().is_some_and(|w| {
        let w = w.trim_end_matches([',', '.', '!', ':']).lower();
        POINTERS.contains(&w.as_str())
    }) {
        head.pop();
    }
    head.join(" ").trim_end_matches([',', ':', ' ']).to_owned()
}

/// Whether an item only claims work ("Do", "Handle that", "Take lists"): the
/// work asked for before is what it stands for.
fn bare_claim(text: &str) -> bool {
    words(&without_pointers(text))
        .first()
        .is_none_or(|v| CLAIM_VERBS.contains(&v.as_str()))
}

/// "Look at that" + "apple pay button renders twice" → "Look at: apple pay
/// button renders twice"; a bare claim ("Do", "Handle that") or a claim of
/// work asked for ("who submits the build?") is that work; a context opening
/// with the item's own verb goes on from it ("Ask Marta" + "ask them if …"
/// → "Ask Marta if …").
pub(super) fn with_context(text: &str, context: &Clause) -> String {
    let head = without_pointers(text);
    let head = head.as_str();
    let head_words = words(head);
    let verb = head_words.first().map_or("", String::as_str);
    let bare = bare_claim(text);
    if let Some(task) = &context.task
        && bare
    {
        return capitalise(task);
    }
    if bare && head_words.len() <= 1 {
        return capitalise(&context.text);
    }
    let ctx_words = words(&context.text);
    if ctx_words.first().map(String::as_str) == Some(verb)
        && let Some((_, rest)) = context.text.split_once(' ')
    {
        let rest = match rest.split_once(' ') {
            Some((p, r)) if POINTERS.contains(&p.lower().as_str()) => r,
            _ => rest,
        };
        return format!("{head} {rest}");
    }
    // "Check with Anke" + "do we need legal to review the terms?": what to
    // find out is whether the question's answer is yes.
    if context.question && ASKING_VERBS.contains(&verb) {
        let first = ctx_words.first().map_or("", String::as_str);
        let join = if [
            "what", "which", "who", "when", "where", "how", "why", "whether", "if",
        ]
        .contains(&first)
        {
            ""
        } else if context.asked_we {
            " whether we"
        } else {
            " whether"
        };
        return format!("{head}{join} {}", context.text);
    }
    format!("{head}: {}", context.text)
}

/// The choice a short decision settles ("Own pipeline" after "for the
/// analytics, should we track the funnel in amplitude or our own pipeline?"):
/// a question asking the team to choose, a few messages back in the
/// decision's thread, that adds two words or more of its own. The decision
/// alone leaves out what was chosen for.
pub(super) fn settled_question(
    text: &str,
    at: usize,
    all: &[Message],
    members: &[Member],
) -> Option<String> {
    // The choice itself, without the reason given for it ("own pipeline,
    // amplitude contract ends in march anyway").
    let head = text.split(", ").next().unwrap_or(text);
    let own = object_words(head, members);
    let not_number = |w: &String| !w.chars().all(|c| c.is_ascii_digit());
    // "Exclude the API reference, only guides and tutorials": a clause that
    // narrows the choice is part of it, not a reason, and it says enough.
    if text.split_once(", ").is_some_and(|(_, rest)| {
        ["only", "except", "but only", "not", "without"]
            .iter()
            .any(|w| strip_word_prefix(&rest.lower(), w).is_some())
    }) {
        return None;
    }
    if own.iter().filter(|w| not_number(w)).count() > 3 {
        return None;
    }
    let src = all.get(at)?;
    let asked = all[..at]
        .iter()
        .rev()
        .filter(|m| same_conversation(src, m))
        .take(4)
        .find_map(|m| {
            if m.text.trim_start().starts_with('@') {
                return None;
            }
            sentences(&without_quotes(&m.text))
                .into_iter()
                .rev()
                .find(|s| s.question && choice_question(&s.text.lower()))
        })?;
    let q = trim_filler(&without_parentheses(&asked.text)).to_owned();
    let lower = q.lower();
    const FACTS: &[&str] = &[
        "who", "where", "when", "how", "what", "why", "which", "is there",
    ];
    if FACTS.iter().any(|f| strip_word_prefix(&lower, f).is_some()) {
        return None;
    }
    // "min effect for the test - do we power for 1% or 2%": the label before
    // the asking words says what the choice is about; "question for everyone:"
    // says nothing.
    let (label, clause) = match ASKING_WE
        .iter()
        .filter_map(|p| find_phrase(&lower, p).map(|i| (i, p)))
        .min()
    {
        Some((i, p)) => (q[..i].to_owned(), q[i + p.len()..].to_owned()),
        None => match q.split_once(": ") {
            Some((l, c)) => (l.to_owned(), c.to_owned()),
            None => (String::new(), q.clone()),
        },
    };
    let label = label
        .trim_end_matches([' ', ',', ':', '-', '\u{2014}'])
        .trim();
    let label_words: Vec<String> = content_words(label)
        .into_iter()
        .filter(|w| !["question", "everyone", "all", "team", "folks", "guys"].contains(&w.as_str()))
        .collect();
    let clause = clause.trim().trim_end_matches(['?', '.', ' ']);
    let clause = clause
        .split_whitespace()
        .take(12)
        .collect::<Vec<_>>()
        .join(" ");
    let full = if label_words.len() >= 2 {
        format!("{label}: {clause}")
    } else {
        clause
    };
    let new = object_words(&full, members)
        .into_iter()
        .filter(|w| !own.contains(w) && not_number(w))
        .count();
    // A number shares only as a whole ("2%" with "1% or 2%"): "4.12.1 the
    // week after" is not about "iOS 15 in 4.13".
    let numbers = |t: &str| -> BTreeSet<String> {
        t.split_whitespace()
            .map(|w| w.trim_matches(|c: char| ",.;:!?()".contains(c)).lower())
            .filter(|w| w.chars().any(|c| c.is_ascii_digit()))
            .collect()
    };
    let shared = content_words(head)
        .intersection(&content_words(&full))
        .filter(|w| not_number(w))
        .count()
        + numbers(head).intersection(&numbers(&full)).count();
    (new >= 3 && shared > 0).then(|| format!("{head}: {full}"))
}

impl State<'_> {
    /// Gives vague action items and decisions their object from context.
    pub(super) fn resolve_context(&mut self, all: &[Message]) {
        let members = self.members;
        let pointing = std::mem::take(&mut self.pointing);
        let mut unresolved = Vec::new();
        for (i, a) in self
            .actions
            .iter_mut()
            .enumerate()
            .filter(|(_, a)| !a.seeded)
        {
            let claimed = pointing
                .iter()
                .any(|(src, text)| *src == a.item.source && *text == a.item.text);
            // "i can create one" after "we need a service account".
            if let Some(thing) = needed_thing(&a.item.text, a.at, all) {
                a.item.text = format!("{} {thing}", without_pointers(&a.item.text));
                continue;
            }
            let ctx = vague_action(&a.item.text, members)
                .then(|| context_for(&a.item.text, a.at, all, members, ACTION_REACH))
                .flatten();
            match ctx {
                Some(ctx) => {
                    let text = with_context(&a.item.text, &ctx);
                    // A pointer claim stands only for work said before ("we need
                    // to move the old datasets" → "Move the old datasets").
                    if claimed && !super::actions::outside_work(&text) {
                        unresolved.push(i);
                    }
                    a.item.text = text;
                }
                None if claimed => unresolved.push(i),
                // "Push", "Write it": a verb with nothing to act on tells a
                // reader nothing.
                None if object_words(&after_verb(&a.item.text).join(" "), members).is_empty()
                    && all
                        .get(a.at)
                        .is_some_and(|m| said_as_verb(&a.item.text, &m.text)) =>
                {
                    unresolved.push(i)
                }
                None => {
                    if let Some(text) = fuller_object(&a.item.text, a.at, all, members) {
                        a.item.text = text;
                    }
                }
            }
        }
        for i in unresolved.into_iter().rev() {
            self.actions.remove(i);
        }
        for d in self.decisions.iter_mut().filter(|d| !d.seeded) {
            if vague_decision(&d.item.text, members)
                && let Some(ctx) = context_for(&d.item.text, d.at, all, members, WINDOW)
            {
                d.item.text = with_context(&d.item.text, &ctx);
            } else if let Some(choice) = settled_question(&d.item.text, d.at, all, members) {
                d.item.text = choice;
            }
        }
    }
}

/// What "one" stands for in "Create one", "I can set one up": the thing the
/// last two messages (in the item's thread, or at top level) said is
/// needed ("we need a service account" → "a service account").
fn needed_thing(text: &str, at: usize, all: &[Message]) -> Option<String> {
    let ws = words(text);
    if ws.len() < 2 || ws.last().map(String::as_str) != Some("one") {
        return None;
    }
    let src = all.get(at)?;
    all[..at]
        .iter()
        .rev()
        .filter(|m| same_conversation(src, m))
        .take(ACTION_REACH)
        .find_map(|m| {
            let lower = without_quotes(&m.text).lower();
            let ws: Vec<&str> = lower.split_whitespace().collect();
            let i = ws
                .windows(3)
                .position(|w| ["need", "needs"].contains(&w[0]) && ["a", "an"].contains(&w[1]))?;
            let mut np = vec![ws[i + 1]];
            for w in ws.iter().skip(i + 2).take(4) {
                let (core, ends) = bare(w);
                if PHRASE_ENDS.contains(&core) || not_object(core) {
                    break;
                }
                np.push(core);
                if ends {
                    break;
                }
            }
            (np.len() > 1 && !content_words(&np[1..].join(" ")).is_empty()).then(|| np.join(" "))
        })
}

/// Whether the item's first word is used as a verb in its message: after a
/// subject, a modal or "to" ("i'll push today", "can you write it"), or
/// after an address ("Lena, write it?"). A list's "signage: Cy" names work
/// with a noun.
fn said_as_verb(item: &str, message: &str) -> bool {
    let Some(verb) = words(item).into_iter().next() else {
        return false;
    };
    let ws: Vec<&str> = message.split_whitespace().collect();
    ws.windows(2).any(|w| {
        let before = w[0].lower().replace('\u{2019}', "'");
        words(w[1]).first() == Some(&verb)
            && (before.ends_with(',')
                || [
                    "i", "ill", "i'll", "we", "we'll", "you", "will", "can", "could", "to",
                    "please", "pls", "gonna", "should", "must",
                ]
                .contains(&before.trim_end_matches('.')))
    })
}

/// Whether `m` is in the conversation `src` is in: its thread (root included),
/// or the channel's top level.
fn same_conversation(src: &Message, m: &Message) -> bool {
    match src.thread_id.as_deref() {
        Some(t) => m.thread_id.as_deref() == Some(t) || m.id == t,
        None => m.thread_id.is_none(),
    }
}

/// Words that open a noun phrase: what comes after them up to its noun is
/// the phrase's own modifiers ("the August statement from Deutsche Bank").
const DETERMINERS: &[&str] = &[
    "the", "a", "an", "our", "their", "your", "his", "her", "my", "this", "these", "those",
];

/// Prepositions that attach a detail to a noun ("the report to the council",
/// "the estimate from the dashboard", "redirects for the old urls").
const NOUN_PREPOSITIONS: &[&str] = &["to", "for", "from", "of", "about", "on", "with", "in"];

/// Words that end a noun phrase's detail: a new clause, a verb, a pointer.
const PHRASE_ENDS: &[&str] = &[
    "and", "or", "but", "so", "because", "if", "when", "is", "are", "was", "were", "will", "would",
    "should", "can", "could", "by", "to", "for", "from", "of", "about", "on", "with", "in", "at",
    "it", "them", "me", "us", "you", "we", "i", "they", "he", "she", "that", "which", "who",
    "before", "after", "until", "now", "today", "tomorrow", "please", "asap",
];

/// One whitespace word without the punctuation around it, and whether
/// punctuation ends it (a phrase ends there).
fn bare(word: &str) -> (&str, bool) {
    let core = word.trim_matches(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'));
    let ends = word.ends_with([',', '.', '?', '!', ':', ';', ')']);
    (core, ends)
}

/// The fullest way `head` (a noun) is named in `text`: the modifiers before it
/// after a determiner or preposition ("from Deutsche Bank") and one
/// prepositional detail after it ("the report to the council"). `None` when
/// `text` names it no more fully, or uses it to modify another noun ("bank
/// recs"). Returns the words before, the noun as `text` spells it, the words after.
fn named_more_fully(head: &str, text: &str) -> Option<(Vec<String>, String, Vec<String>)> {
    let ws: Vec<&str> = text.split_whitespace().collect();
    let same = |w: &str| {
        let w = w.lower();
        w == head || w.strip_suffix('s') == Some(head) || head.strip_suffix('s') == Some(&w)
    };
    for (i, w) in ws.iter().enumerate() {
        let (core, ends) = bare(w);
        if !same(core) {
            continue;
        }
        let next = ws.get(i + 1).map(|n| bare(n).0.lower());
        // "bank recs": the word names another thing here.
        if !ends
            && next
                .as_deref()
                .is_some_and(|n| !NOUN_PREPOSITIONS.contains(&n) && !PHRASE_ENDS.contains(&n))
        {
            continue;
        }
        let mut before = Vec::new();
        let mut j = i;
        while j > 0 && before.len() < 2 {
            let (core, ends) = bare(ws[j - 1]);
            let lower = core.lower();
            // "the company offers training": a word in "-s" before the noun
            // is more likely a verb than a modifier.
            let verb_like = lower.ends_with('s') && !lower.ends_with("ss");
            if ends
                || verb_like
                || content_words(&lower).is_empty()
                || PHRASE_ENDS.contains(&lower.as_str())
            {
                break;
            }
            before.insert(0, core.to_owned());
            j -= 1;
        }
        let opener = j
            .checked_sub(1)
            .map(|k| bare(ws[k]).0.lower())
            .is_some_and(|o| {
                DETERMINERS.contains(&o.as_str()) || NOUN_PREPOSITIONS.contains(&o.as_str())
            });
        if !opener {
            before.clear();
        }
        let mut after = Vec::new();
        if !ends
            && next
                .as_deref()
                .is_some_and(|n| NOUN_PREPOSITIONS.contains(&n))
        {
            for w in ws.iter().skip(i + 1).take(5) {
                let (core, ends) = bare(w);
                let lower = core.lower();
                if !after.is_empty()
                    && (PHRASE_ENDS.contains(&lower.as_str()) || not_object(&lower))
                {
                    break;
                }
                after.push(core.to_owned());
                if ends {
                    break;
                }
            }
            if content_words(&after.join(" ")).is_empty() {
                after.clear();
            }
        }
        if !before.is_empty() || !after.is_empty() {
            return Some((before, core.to_owned(), after));
        }
    }
    None
}

/// "Chase the bank" after "the August statement from Deutsche Bank is
/// missing" → "Chase the Deutsche Bank": a short task whose object is a bare
/// noun takes the modifiers the conversation named it with, from its own
/// message or the nearest earlier one in its thread (or at top level). The
/// note-taker names the object; the chat had already named it once.
pub(super) fn fuller_object(
    text: &str,
    at: usize,
    all: &[Message],
    members: &[Member],
) -> Option<String> {
    if content_words(text).len() > 4 {
        return None;
    }
    let ws: Vec<&str> = text.split_whitespace().collect();
    let det = (1..ws.len().min(3))
        .find(|&k| ["the", "a", "an", "our", "their"].contains(&ws[k].lower().as_str()))?;
    let mut np_end = det + 1;
    while np_end < ws.len() && np_end - det <= 2 {
        let (core, ends) = bare(ws[np_end]);
        let lower = core.lower();
        if PHRASE_ENDS.contains(&lower.as_str()) || NOUN_PREPOSITIONS.contains(&lower.as_str()) {
            break;
        }
        np_end += 1;
        if ends {
            break;
        }
    }
    // "the proactive mail text": the noun is the phrase's last word, before
    // a preposition or the end.
    let closed = ws.get(np_end).is_none_or(|w| {
        let lower = bare(w).0.lower();
        NOUN_PREPOSITIONS.contains(&lower.as_str()) || PHRASE_ENDS.contains(&lower.as_str())
    });
    if np_end == det + 1 || !closed {
        return None;
    }
    let (head, _) = bare(ws[np_end - 1]);
    let head = head.lower();
    if head.chars().count() <= 2 || POINTERS.contains(&head.as_str()) || not_object(&head) {
        return None;
    }
    let src = all.get(at)?;
    let own = content_words(text);
    let new_words = |ws: &[String]| {
        object_words(&ws.join(" "), members)
            .into_iter()
            .filter(|w| !own.contains(w))
            .count()
    };
    // "the letter to the school" already has its detail; "with them" is none.
    let has_detail = !object_words(&ws[np_end..].join(" "), members).is_empty();
    let (before, spelled, after) = std::iter::once(src)
        .chain(
            all[..at]
                .iter()
                .rev()
                .filter(|m| same_conversation(src, m))
                .take(WINDOW),
        )
        .filter_map(|m| named_more_fully(&head, &without_quotes(&m.text)))
        .map(|(b, s, a)| {
            if has_detail {
                (b, s, Vec::new())
            } else {
                (b, s, a)
            }
        })
        .find(|(b, _, a)| new_words(b) + new_words(a) > 0)?;
    let np: Vec<&str> = ws[det + 1..np_end].to_vec();
    let before: Vec<&str> = before
        .iter()
        .map(String::as_str)
        .filter(|b| !np.iter().any(|n| n.eq_ignore_ascii_case(b)))
        .collect();
    let mut out: Vec<&str> = ws[..=det].to_vec();
    out.extend(before.iter().copied());
    out.extend(ws[det + 1..np_end - 1].iter().copied());
    // "Deutsche Bank": a name keeps the capitals the chat gave it.
    let head_word = bare(ws[np_end - 1]).0;
    out.push(
        if before.is_empty() || spelled.lower() != head_word.lower() {
            head_word
        } else {
            &spelled
        },
    );
    out.extend(after.iter().map(String::as_str));
    out.extend(ws[np_end..].iter().copied());
    Some(out.join(" "))
}
