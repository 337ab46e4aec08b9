//! The deterministic maintainer: reads a conversation in order and keeps the
//! decisions, action items and open questions a careful note-taker would.
//!
//! One pass, message by message. Each message is first read as a *response* to
//! what came before (a completion, a cancellation, an agreement, an answer,
//! a claim) and then for what it *introduces* (markers first, then natural
//! phrasing). Quoted text (`>` lines, code, long "…" passages) is never read.

mod actions;
mod context;
mod cues;
mod decisions;
mod questions;
mod verbs;

use crate::document::{Document, SectionKind};
use crate::model::{ActionItem, Decision, Extraction, Member, Message, Question};
use crate::text::{normalise_contractions, without_quotes};

/// Longest item text, in words (items are short paraphrases).
pub(crate) const MAX_ITEM_WORDS: usize = 16;
/// How many messages back a reply can refer to ("+1", "on it").
const REPLY_WINDOW: usize = 4;

/// Reads `messages` (channel order) and returns what group.md should hold.
pub fn extract(members: &[Member], messages: &[Message]) -> Extraction {
    extract_since(members, messages, &Document::parse(""))
}

/// Like [`extract`] for the messages since `doc`'s revision: the document's
/// decisions, open action items and open questions are known up front, so a
/// "done" or an answer in `messages` can close them.
pub fn extract_since(members: &[Member], messages: &[Message], doc: &Document) -> Extraction {
    let mut state = State::new(members);
    state.seed(doc);
    for (index, message) in messages.iter().enumerate() {
        state.read(index, message, messages);
    }
    state.resolve_context(messages);
    state.finish()
}

#[derive(Debug)]
struct Tracked<T> {
    item: T,
    /// Index of the source message.
    at: usize,
    /// Thread the item lives in (its root message id).
    thread: String,
    /// Read from the document, not from these messages.
    seeded: bool,
}

/// Work someone asked for with nobody named yet (`can someone …`).
#[derive(Debug)]
struct Request {
    text: String,
    at: usize,
    thread: String,
    /// The member asked, when one was named.
    to: Option<String>,
    /// Said as a statement ("someone should …"), not asked.
    statement: bool,
    source: String,
}

/// A proposal waiting for someone to accept it.
#[derive(Debug)]
struct Proposal {
    text: String,
    at: usize,
    thread: String,
    author: String,
    source: String,
}

struct State<'a> {
    members: &'a [Member],
    decisions: Vec<Tracked<Decision>>,
    superseded: Vec<Decision>,
    actions: Vec<Tracked<ActionItem>>,
    questions: Vec<Tracked<Question>>,
    /// Plain questions asked in passing: open only if nobody answers them.
    asked: Vec<Tracked<Question>>,
    answered: Vec<Question>,
    requests: Vec<Request>,
    proposals: Vec<Proposal>,
    /// Work claimed with a pointer ("I can make it"): `(source, text)` of items
    /// that stand only if the conversation says what "it" is.
    pointing: Vec<(String, String)>,
}

/// One message prepared for the rules.
struct Turn<'m> {
    index: usize,
    message: &'m Message,
    /// The text without quoted passages.
    clean: String,
    /// The thread this message belongs to (its own id at top level).
    thread: String,
    author_is_agent: bool,
    /// The thread root's text for a reply (what "switching to the other one" is about).
    context: String,
}

impl<'a> State<'a> {
    fn new(members: &'a [Member]) -> Self {
        Self {
            members,
            decisions: Vec::new(),
            superseded: Vec::new(),
            actions: Vec::new(),
            questions: Vec::new(),
            asked: Vec::new(),
            answered: Vec::new(),
            requests: Vec::new(),
            proposals: Vec::new(),
            pointing: Vec::new(),
        }
    }

    fn seed(&mut self, doc: &Document) {
        let tracked = |item| Tracked {
            item,
            at: 0,
            thread: String::new(),
            seeded: true,
        };
        for d in doc.items(SectionKind::Decisions) {
            self.decisions.push(tracked_decision(d.text, d.source));
        }
        for a in doc.items(SectionKind::ActionItems) {
            if a.done == Some(false) {
                self.actions.push(tracked(ActionItem {
                    owner: a.owner,
                    text: a.text,
                    done: false,
                    source: a.source.unwrap_or_default(),
                }));
            }
        }
        for q in doc.items(SectionKind::OpenQuestions) {
            self.questions.push(Tracked {
                item: Question {
                    text: q.text,
                    source: q.source.unwrap_or_default(),
                },
                at: 0,
                thread: String::new(),
                seeded: true,
            });
        }
    }

    fn read(&mut self, index: usize, message: &Message, all: &[Message]) {
        let turn = Turn {
            index,
            message,
            clean: normalise_contractions(&without_quotes(&message.text)),
            thread: message
                .thread_id
                .clone()
                .unwrap_or_else(|| message.id.clone()),
            author_is_agent: self.is_agent(&message.author),
            context: message
                .thread_id
                .as_ref()
                .and_then(|root| all[..index].iter().find(|m| &m.id == root))
                .map(|m| without_quotes(&m.text))
                .unwrap_or_default(),
        };
        // Responses to what came before.
        self.complete_actions(&turn, all);
        self.cancel_actions(&turn);
        self.accept_proposals(&turn, all);
        self.answer_questions(&turn, all);
        let claimed = self.claim_requests(&turn, all);
        // What this message introduces.
        let marked = self.read_markers(&turn);
        if !marked.decision {
            self.read_natural_decisions(&turn, all);
        }
        if !marked.action && !claimed {
            self.read_natural_actions(&turn, all);
        }
        if !marked.question {
            self.read_natural_questions(&turn);
        }
        self.mark_done_by_reaction(&turn);
    }

    fn finish(mut self) -> Extraction {
        // A plain question nobody answered is still open (once, however asked);
        // "who's …?" only while nobody took the work.
        for q in std::mem::take(&mut self.asked) {
            let taken = q.item.text.starts_with("Who")
                && !self.requests.iter().any(|r| r.source == q.item.source);
            if !taken
                && !self.questions.iter().any(|t| {
                    t.item.source == q.item.source
                        || crate::text::similarity(&t.item.text, &q.item.text) >= 0.5
                })
            {
                self.questions.push(q);
            }
        }
        // Work someone said must be done that nobody took stays, unowned; asking
        // "can someone check …?" is a lookup, not work.
        for r in std::mem::take(&mut self.requests) {
            if r.statement && r.to.is_none() {
                let turn_at = r.at;
                self.actions.push(Tracked {
                    item: ActionItem {
                        owner: None,
                        text: r.text,
                        done: false,
                        source: r.source,
                    },
                    at: turn_at,
                    thread: r.thread,
                    seeded: false,
                });
            }
        }
        Extraction {
            decisions: self.decisions.into_iter().map(|t| t.item).collect(),
            action_items: self.actions.into_iter().map(|t| t.item).collect(),
            open_questions: self.questions.into_iter().map(|t| t.item).collect(),
            answered_questions: self.answered,
            superseded_decisions: self.superseded,
        }
    }

    fn is_agent(&self, name: &str) -> bool {
        self.members
            .iter()
            .any(|m| m.agent && m.name.eq_ignore_ascii_case(name))
    }

    /// The member called `name` (case-insensitive), spelled as the member list does.
    fn member(&self, name: &str) -> Option<&'a Member> {
        let name = name.trim_start_matches('@');
        self.members
            .iter()
            .find(|m| m.name.eq_ignore_ascii_case(name))
    }

    /// Whether `earlier` is close enough to `turn` for a reply to refer to it:
    /// same thread, or both at top level a few messages apart.
    fn in_reach(turn: &Turn<'_>, at: usize, thread: &str) -> bool {
        if turn.thread == thread && turn.message.thread_id.is_some() {
            return true;
        }
        at < turn.index && turn.index - at <= REPLY_WINDOW
    }
}

fn tracked_decision(text: String, source: Option<String>) -> Tracked<Decision> {
    Tracked {
        item: Decision {
            text,
            source: source.unwrap_or_default(),
        },
        at: 0,
        thread: String::new(),
        seeded: true,
    }
}

/// Which markers a message carried (a marked item wins over natural phrasing).
#[derive(Default)]
struct Marked {
    decision: bool,
    action: bool,
    question: bool,
}

/// The marker a line starts with, and the rest of the line.
fn line_marker<'l>(line: &'l str, markers: &[&str]) -> Option<&'l str> {
    let t = line
        .trim_start()
        .trim_start_matches(['-', '*', '_', '#', ' ', '\u{2022}']);
    for marker in markers {
        let Some(head) = t.get(..marker.len()) else {
            continue;
        };
        if !head.eq_ignore_ascii_case(marker) {
            continue;
        }
        let rest = t[marker.len()..].trim_start_matches(['*', '_', ' ']);
        if let Some(after) = rest.strip_prefix(':') {
            return Some(after.trim_start_matches(['*', '_', ' ']).trim());
        }
    }
    None
}

/// The line from the first sentence that opens with a marker (or the line).
fn marker_sentence(line: &str) -> &str {
    let all = [
        cues::DECISION_MARKERS,
        cues::ACTION_MARKERS,
        cues::QUESTION_MARKERS,
    ];
    if all.iter().any(|m| line_marker(line, m).is_some()) {
        return line;
    }
    let mut from = 0;
    while let Some(i) = line[from..].find(['.', '!', '?']) {
        let rest = &line[from + i + 1..];
        from += i + 1;
        if !rest.starts_with(' ') {
            continue;
        }
        if all.iter().any(|m| line_marker(rest, m).is_some()) {
            return rest;
        }
    }
    line
}

impl State<'_> {
    fn read_markers(&mut self, turn: &Turn<'_>) -> Marked {
        let mut marked = Marked::default();
        for line in turn.clean.lines() {
            // "fair. Decision: …": a marker may open a later sentence of the line.
            let line = marker_sentence(line);
            if let Some(rest) = line_marker(line, cues::DECISION_MARKERS) {
                marked.decision |= self.marked_decision(turn, rest);
            } else if let Some(rest) = line_marker(line, cues::ACTION_MARKERS) {
                marked.action |= self.marked_action(turn, rest);
            } else if let Some(rest) = line_marker(line, cues::QUESTION_MARKERS) {
                marked.question |= self.marked_question(turn, rest);
            }
        }
        marked
    }
}

#[cfg(test)]
mod tests;
