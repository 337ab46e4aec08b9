//! Open questions: `Question:` markers and questions someone explicitly left
//! open; an answer in the thread, or a decision on the subject, closes them.

use super::{MAX_ITEM_WORDS, State, Tracked, Turn, cues};
use crate::model::{Message, Question};
use crate::text::{capitalise, has_phrase, sentences, shared_words, shorten, trim_filler};

fn question_text(raw: &str) -> String {
    let first = raw.split_inclusive('?').next().unwrap_or(raw);
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

    /// A question becomes open when a reply defers it ("leaving it open").
    pub(super) fn read_natural_questions(&mut self, turn: &Turn<'_>) {
        let _ = turn;
    }

    pub(super) fn answer_questions(&mut self, turn: &Turn<'_>, all: &[Message]) {
        let lower = turn.clean.to_lowercase();
        let defers = has_phrase(&lower, cues::DEFERRAL);
        let author = &turn.message.author;
        if defers {
            self.open_deferred(turn, all);
            return;
        }
        let asks = sentences(&turn.clean).iter().all(|s| s.question);
        if asks || turn.clean.trim().is_empty() {
            return;
        }
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
                let in_reach = turn.message.thread_id.as_deref() == Some(m.id.as_str())
                    || m.thread_id == turn.message.thread_id
                    || turn.index - i <= 2;
                if !in_reach || m.author.eq_ignore_ascii_case(&turn.message.author) {
                    return None;
                }
                let s = sentences(&crate::text::without_quotes(&m.text))
                    .into_iter()
                    .rfind(|s| {
                        s.question && !has_phrase(&s.text.to_lowercase(), cues::RHETORICAL)
                    })?;
                Some((i, m, s.text))
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
