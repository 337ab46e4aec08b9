//! Open questions: `Question:` markers and questions someone explicitly left
//! open; an answer in the thread, or a decision on the subject, closes them.

use super::{MAX_ITEM_WORDS, State, Tracked, Turn, cues};
use crate::model::{Message, Question};
use crate::text::Lower as _;
use crate::text::{
    capitalise, content_words, has_phrase, sentences, shared_words, shorten, trim_filler,
};

/// A reply that leaves the question open ("good q, parking it", "I'll ask").
/// "later" or "unknown" inside a longer reply defer nothing.
fn defers(lower: &str) -> bool {
    const WEAK: &[&str] = &["later", "unknown", "unclear"];
    cues::DEFERRAL
        .iter()
        .filter(|c| !WEAK.contains(c))
        .any(|c| has_phrase(lower, &[c]))
        || has_phrase(
            lower,
            &[
                "i'll ask",
                "i will ask",
                "let me ask",
                "will find out",
                // "let's decide next week", "let's discuss that on thursday":
                // put off, so still open.
                "decide next week",
                "decide later",
                "decide next time",
                "decide on monday",
                "decide tomorrow",
                "discuss that",
                "discuss this",
                "discuss it",
                "leave it with me",
                "not today",
            ],
        )
}

/// How a question to the group opens.
const ASKING: &[&str] = &[
    "what", "why", "how", "who", "when", "where", "which", "do ", "does", "did", "should", "shall",
    "is ", "are ", "will", "was ", "were ", "have we", "has ",
];
/// Questions that ask for something other than an answer.
const NOT_ASKING: &[&str] = &[
    "can you",
    "could you",
    "would you",
    "will you",
    "can someone",
    "could someone",
    "can somebody",
    "what if",
    "how about",
    "why not",
    "why don't we",
    "who wants",
    "who can",
    "who will",
    "anyone want",
    "should i",
    "shall i",
    "do you mind",
];

fn question_text(raw: &str) -> String {
    let first = raw.split_inclusive('?').next().unwrap_or(raw);
    // "one more - do we …?", "still open: do we …?": a short lead-in is not
    // the question.
    let first = [" - ", ": ", " \u{2014} "]
        .iter()
        .find_map(|sep| {
            let (head, rest) = first.split_once(sep)?;
            (head.split_whitespace().count() <= 3 && content_words(rest).len() >= 3).then_some(rest)
        })
        .unwrap_or(first);
    let t = shorten(trim_filler(first.trim_end_matches('?')), MAX_ITEM_WORDS);
    if t.is_empty() {
        t
    } else {
        format!("{}?", capitalise(&t))
    }
}

impl State<'_> {
    pub(super) fn marked_question(&mut self, turn: &Turn<'_>, rest: &str) -> bool {
        let text = question_text(rest);
        if text.is_empty() {
            return false;
        }
        self.questions.push(Tracked {
            item: Question {
                text,
                source: turn.message.id.clone(),
            },
            at: turn.index,
            thread: turn.thread.clone(),
            seeded: false,
        });
        true
    }

    /// A plain question to the group ("do we keep the toggle?") is kept until
    /// someone answers it; requests ("can you …?"), proposals ("what if …?"),
    /// rhetorical and agent-bound questions are not.
    pub(super) fn read_natural_questions(&mut self, turn: &Turn<'_>) {
        if turn.author_is_agent || super::decisions::joking(&turn.clean) {
            return;
        }
        let sents = sentences(&turn.clean);
        let Some(pos) = sents.iter().position(|s| s.question) else {
            return;
        };
        let q = trim_filler(&sents[pos].text).lower();
        // "one thing, do we need …?": the question may follow a lead-in.
        let asks = |t: &str| ASKING.iter().any(|w| t.starts_with(w)) || t.contains(" or ");
        let vague = has_phrase(&q, &["that", "it", "this"]) && content_words(&q).len() < 4;
        // "what about music? my cousin's trio would play": a lead-in its author
        // goes on to answer.
        let lead_in = ["what about", "how about"].iter().any(|p| q.starts_with(p))
            && sents[pos + 1..]
                .iter()
                .any(|s| !s.question && content_words(&s.text).len() >= 3);
        if q.contains('@')
            || lead_in
            // "who's writing the guide?" asks for a taker (an action request).
            || super::actions::who_request(&q).is_some()
            || has_phrase(&q, cues::RHETORICAL)
            || has_phrase(&q, NOT_ASKING)
            || !(asks(&q) || q.split(", ").skip(1).any(asks))
            || content_words(&q).len() < 2
            || vague
            || self
                .questions
                .iter()
                .any(|t| t.item.source == turn.message.id)
        {
            return;
        }
        // "do we measure that?" after a statement of what "that" is.
        let mut raw = sents[pos].text.clone();
        if pos > 0 && content_words(&raw).len() < 3 {
            raw = format!("{}, {}", sents[pos - 1].text, raw);
        }
        self.asked.push(Tracked {
            item: Question {
                text: question_text(&format!("{raw}?")),
                source: turn.message.id.clone(),
            },
            at: turn.index,
            thread: turn.thread.clone(),
            seeded: false,
        });
    }

    /// Someone else's statement in the question's thread, or right after it on
    /// the same subject (or a plain yes/no), answers a plain question.
    fn answer_asked(&mut self, turn: &Turn<'_>, all: &[Message]) {
        let lower = turn.clean.lower();
        if super::decisions::joking(&turn.clean) || has_phrase(&lower, &["lol", "haha"]) {
            return;
        }
        let yes_no = ["yes", "no", "yep", "nope", "yeah", "nah", "both", "neither"]
            .iter()
            .any(|w| crate::text::strip_word_prefix(trim_filler(&lower), w).is_some());
        let author = &turn.message.author;
        self.asked.retain(|q| {
            let asker = all.get(q.at).map(|m| m.author.as_str()).unwrap_or("");
            if asker.eq_ignore_ascii_case(author) || q.at >= turn.index {
                return true;
            }
            let in_thread = turn.message.thread_id.as_deref() == Some(q.item.source.as_str());
            let top = turn.message.thread_id.is_none();
            let next = top && turn.index - q.at == 1;
            let near = top && turn.index - q.at <= 3;
            let on_topic = shared_words(&q.item.text, &turn.clean) >= 1 || yes_no;
            // A later statement on the same subject ("we keep a weekly snapshot").
            let later = turn.index - q.at <= 8 && shared_words(&q.item.text, &turn.clean) >= 2;
            !(in_thread || next || near && on_topic || later)
        });
    }

    pub(super) fn answer_questions(&mut self, turn: &Turn<'_>, all: &[Message]) {
        let lower = turn.clean.lower();
        let defers = defers(&lower);
        let author = &turn.message.author;
        if defers {
            self.open_deferred(turn, all);
            return;
        }
        let asks = sentences(&turn.clean).iter().all(|s| s.question);
        if asks || turn.clean.trim().is_empty() {
            return;
        }
        self.answer_asked(turn, all);
        let mut closed = Vec::new();
        for (i, q) in self.questions.iter().enumerate() {
            let asker = (!q.seeded)
                .then(|| all.get(q.at).map(|m| m.author.as_str()))
                .flatten()
                .unwrap_or("");
            if asker.eq_ignore_ascii_case(author) && !lower.contains("answer") {
                continue;
            }
            let in_thread = turn.message.thread_id.as_deref() == Some(q.item.source.as_str());
            let on_topic = shared_words(&q.item.text, &turn.clean) >= 2;
            if in_thread || on_topic && turn.index > q.at {
                closed.push(i);
            }
        }
        for i in closed.into_iter().rev() {
            let q = self.questions.remove(i);
            self.answered.push(q.item);
        }
    }

    /// "good q, parking it": the question just asked stays open.
    fn open_deferred(&mut self, turn: &Turn<'_>, all: &[Message]) {
        let asked = (turn.index.saturating_sub(3)..turn.index)
            .rev()
            .find_map(|i| {
                let m = all.get(i)?;
                // The question it replies to: its thread root, or just before it.
                let in_reach = turn.message.thread_id.as_deref() == Some(m.id.as_str())
                    || turn.message.thread_id.is_some() && m.thread_id == turn.message.thread_id
                    || turn.message.thread_id.is_none() && turn.index - i <= 2;
                // The asker's own "ok leave it with me" after nobody knew keeps it
                // open too.
                let own = m.author.eq_ignore_ascii_case(&turn.message.author);
                let answered_by_others = all[i + 1..turn.index]
                    .iter()
                    .any(|x| !x.author.eq_ignore_ascii_case(&turn.message.author));
                if !in_reach || own && !answered_by_others {
                    return None;
                }
                let sents = sentences(&crate::text::without_quotes(&m.text));
                let k = sents
                    .iter()
                    .rposition(|s| s.question && !has_phrase(&s.text.lower(), cues::RHETORICAL))?;
                // "what if X? do we measure that?": the pointer needs what came before.
                let text = match k.checked_sub(1) {
                    Some(p) if content_words(&sents[k].text).len() < 3 => {
                        format!("{}, {}", sents[p].text, sents[k].text)
                    }
                    _ => sents[k].text.clone(),
                };
                Some((i, m, text))
            });
        let Some((i, m, text)) = asked else { return };
        if self.questions.iter().any(|q| q.item.source == m.id) {
            return;
        }
        let text = question_text(&text);
        if text.split_whitespace().count() < 3 {
            return;
        }
        self.questions.push(Tracked {
            item: Question {
                text,
                source: m.id.clone(),
            },
            at: i,
            thread: m.thread_id.clone().unwrap_or_else(|| m.id.clone()),
            seeded: false,
        });
    }
}
