//! The context window: a thread (or a channel's recent top level) rendered for
//! an LLM within a token budget. Pure: no I/O; the caller loads the messages.
//!
//! * **Selection.** The `group.md` preamble comes first (cut to half the
//!   budget at most), then the thread root, which is always kept (cut, with
//!   [`TRUNCATED_MARKER`], when it alone would exceed the budget). The replies
//!   are offered newest first and kept while they fit; the first one that does
//!   not fit ends the selection, so what is kept is always the newest run and
//!   the oldest are dropped. Deleted messages and empty streams are skipped.
//!   When not even the newest reply fits whole, it is cut to fit rather than
//!   lost. The output is in chronological order.
//! * **Roles** are relative to the asking agent: its own messages are
//!   `assistant`, everyone else's `user`, named (`@handle: ` before the text;
//!   OpenAI also gets a sanitized `name`).
//! * **Accounting** (all counts are `o200k_base` tokens, see [`count_tokens`]):
//!   - `text`: `tokens` is exactly `count_tokens(body)`.
//!   - `openai`: every message (the system one included) costs
//!     [`MESSAGE_OVERHEAD`] + the tokens of its `content` + the tokens of its
//!     `name`, plus [`REPLY_PRIMING`] once for the reply.
//!   - `anthropic`: the same, with `system` counted as one message and each
//!     merged message counted on its merged content.
//!
//!   In every format `tokens <= max_tokens` holds (for any budget that fits
//!   the fixed overhead, a few tokens).
//! * **Cost.** The caller feeds messages newest first ([`ContextBuilder::offer`]
//!   answers `false` once the budget is full) and stops there: each kept
//!   message is tokenized once, plus one final count of the `text` body (or
//!   of merged Anthropic messages), so a 10,000-message thread costs only what
//!   is kept.

mod tokens;

pub use tokens::{TOKENIZER, count_tokens, warm_up};

use octo_core::PrincipalId;
use octo_core::model::Message;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::borrow::Borrow;
use std::collections::HashMap;
use std::str::FromStr;

/// What every chat message costs besides its content (role and delimiters),
/// as in OpenAI's chat format.
pub const MESSAGE_OVERHEAD: usize = 4;
/// What priming the model's reply costs, once per request (JSON formats).
pub const REPLY_PRIMING: usize = 3;
/// Ends a message cut to fit the budget.
pub const TRUNCATED_MARKER: &str = " […truncated]";
/// In `text`, the line standing for the messages dropped between the root and
/// the kept replies.
pub const OMITTED_NOTE: &str = "[… earlier messages omitted …]";
/// Anthropic requires the first message to be `user`: this one opens the
/// conversation when the oldest kept message is the agent's own.
pub const ANTHROPIC_OPENER: &str = "[conversation so far]";
/// The name of an author whose handle the caller did not give.
pub const UNKNOWN_HANDLE: &str = "unknown";
/// The blank line joining merged Anthropic messages (an estimate: it may
/// merge with what ends the text before it; the final count is exact).
const BLANK_LINE: usize = 1;
/// A message is cut to fit only when at least this many of its tokens can stay.
const MIN_KEPT_TOKENS: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `{"messages":[{"role":"system","content":…},{"role":…,"name":…,"content":…}]}`
    #[default]
    Openai,
    /// `{"system":…,"messages":[{"role":…,"content":…}]}`, alternating, `user` first.
    Anthropic,
    /// One string, a block per message: `@handle (time): text`.
    Text,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Openai => "openai",
            Format::Anthropic => "anthropic",
            Format::Text => "text",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format {0:?}: use openai, anthropic or text")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "openai" => Ok(Format::Openai),
            "anthropic" => Ok(Format::Anthropic),
            "text" => Ok(Format::Text),
            _ => Err(UnknownFormat(s.to_owned())),
        }
    }
}

/// What to render, for whom, within how much.
#[derive(Debug, Clone, Copy)]
pub struct ContextRequest<'a> {
    /// The channel's `group.md`, the system preamble (`None` until it exists).
    pub groupmd: Option<&'a str>,
    /// The thread root, always kept; `None` for a channel's top level.
    pub root: Option<&'a Message>,
    /// Principal id → handle (without `@`).
    pub handles: &'a HashMap<PrincipalId, String>,
    /// The agent asking: its messages are `assistant`.
    pub asking: &'a PrincipalId,
    pub max_tokens: usize,
    pub format: Format,
}

/// The rendered context and what it took.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Context {
    pub format: Format,
    /// The tokens of `body`, per the accounting of the crate docs.
    pub tokens: usize,
    pub max_tokens: usize,
    /// Messages rendered, the root included.
    pub kept: usize,
    /// Messages left out for the budget (older than everything kept).
    pub dropped: usize,
    /// Deleted messages and empty streams seen and left out.
    pub skipped: usize,
    pub truncated_root: bool,
    /// The newest reply did not fit whole and was cut.
    pub truncated_newest: bool,
    pub truncated_groupmd: bool,
    /// A string for `text`, an object for the JSON formats.
    pub body: Value,
}

/// A message as it will be rendered.
#[derive(Debug, Clone)]
struct Entry {
    own: bool,
    handle: String,
    time: String,
    /// The message's text, whole.
    text: String,
    /// What is shown: `text`, or a prefix of it and the marker.
    shown: String,
    /// The text block (`text`) or the content (JSON formats).
    rendered: String,
    /// OpenAI's `name`, for others' messages.
    name: Option<String>,
    /// What it costs alone: for the JSON formats exactly; for `text` the block
    /// and its line break.
    cost: usize,
    /// What it added to the budget: `cost`, but for an Anthropic message merged
    /// into the newer one after it, its content and the blank line between.
    charged: usize,
}

impl Entry {
    fn new(m: &Message, req: &ContextRequest<'_>) -> Entry {
        let own = m.author_id == *req.asking;
        let handle = req
            .handles
            .get(&m.author_id)
            .cloned()
            .unwrap_or_else(|| UNKNOWN_HANDLE.to_owned());
        let name = (req.format == Format::Openai && !own).then(|| openai_name(&handle));
        let mut e = Entry {
            own,
            handle,
            time: m.created_at.format("%Y-%m-%d %H:%M").to_string(),
            text: m.text.clone(),
            shown: m.text.clone(),
            rendered: String::new(),
            name,
            cost: 0,
            charged: 0,
        };
        e.render(req.format);
        e
    }

    fn render(&mut self, format: Format) {
        self.rendered = match format {
            Format::Text => format!("@{} ({}): {}", self.handle, self.time, self.shown),
            Format::Openai | Format::Anthropic if self.own => self.shown.clone(),
            Format::Openai | Format::Anthropic => format!("@{}: {}", self.handle, self.shown),
        };
        // A piece of the tokenizer never spans a line break followed by the
        // start of a block (`@`), so counting each block with its separator
        // adds up to the count of the whole (the final count checks it).
        self.cost = match format {
            Format::Text => count_tokens(&format!("{}\n", self.rendered)),
            Format::Openai => {
                MESSAGE_OVERHEAD
                    + count_tokens(&self.rendered)
                    + self.name.as_deref().map_or(0, count_tokens)
            }
            Format::Anthropic => MESSAGE_OVERHEAD + count_tokens(&self.rendered),
        };
        self.charged = self.cost;
    }

    /// Cuts the text until the entry costs at most `room`. False when that
    /// would leave fewer than `min_kept` tokens of it.
    fn truncate_to(&mut self, room: usize, min_kept: usize, format: Format) -> bool {
        let mut keep = count_tokens(&self.shown);
        while self.cost > room {
            let excess = self.cost - room;
            // The marker costs a few tokens of its own; aim below the line.
            keep = keep.saturating_sub(excess + count_tokens(TRUNCATED_MARKER) + 1);
            if keep < min_kept {
                return false;
            }
            self.shown = format!(
                "{}{TRUNCATED_MARKER}",
                tokens::prefix_of_tokens(&self.text, keep)
            );
            self.render(format);
        }
        true
    }
}

/// OpenAI's `name` must match `^[a-zA-Z0-9_-]{1,64}$`.
pub fn openai_name(handle: &str) -> String {
    let name: String = handle
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if name.is_empty() { "user".into() } else { name }
}

/// Takes messages newest first and keeps what fits.
pub struct ContextBuilder<'a> {
    req: ContextRequest<'a>,
    preamble: Option<String>,
    preamble_cost: usize,
    truncated_groupmd: bool,
    root: Option<Entry>,
    root_id: Option<&'a octo_core::MessageId>,
    truncated_root: bool,
    /// Kept replies, newest first.
    replies: Vec<Entry>,
    truncated_newest: bool,
    used: usize,
    full: bool,
    dropped: usize,
    skipped: usize,
}

impl<'a> ContextBuilder<'a> {
    pub fn new(req: ContextRequest<'a>) -> Self {
        let format = req.format;
        let max = req.max_tokens;
        let mut truncated_groupmd = false;
        let preamble = req.groupmd.filter(|g| !g.trim().is_empty()).map(|g| {
            let half = max / 2;
            if count_tokens(g) > half {
                truncated_groupmd = true;
                let keep = half.saturating_sub(count_tokens(TRUNCATED_MARKER) + 1);
                format!("{}{TRUNCATED_MARKER}", tokens::prefix_of_tokens(g, keep))
            } else {
                g.to_owned()
            }
        });
        let preamble_cost = preamble.as_deref().map_or(0, |p| preamble_cost(p, format));
        let mut skipped = 0;
        let mut truncated_root = false;
        let fixed = preamble_cost + priming(format);
        let root = match req.root {
            Some(m) if m.deleted || m.text.is_empty() => {
                skipped += 1;
                None
            }
            Some(m) => {
                let mut e = Entry::new(m, &req);
                let room = max.saturating_sub(fixed);
                if e.cost > room {
                    truncated_root = true;
                    if !e.truncate_to(room, 1, format) {
                        // Not even a token of it fits: show the marker alone.
                        e.shown = TRUNCATED_MARKER.trim_start().to_owned();
                        e.render(format);
                    }
                }
                Some(e)
            }
            None => None,
        };
        let used = fixed + root.as_ref().map_or(0, |e| e.cost);
        ContextBuilder {
            req,
            preamble,
            preamble_cost,
            truncated_groupmd,
            root,
            root_id: req.root.map(|m| &m.id),
            truncated_root,
            replies: Vec::new(),
            truncated_newest: false,
            used,
            full: used >= max,
            dropped: 0,
            skipped,
        }
    }

    /// Offers the next message, newest first. Answers `false` once the budget
    /// is full: everything offered from then on is counted as dropped, so the
    /// caller may as well stop (and report the rest with [`Self::add_unseen`]).
    pub fn offer(&mut self, m: &Message) -> bool {
        if self.root_id == Some(&m.id) {
            return !self.full;
        }
        if m.deleted || m.text.is_empty() {
            self.skipped += 1;
            return !self.full;
        }
        if self.full {
            self.dropped += 1;
            return false;
        }
        let format = self.req.format;
        let max = self.req.max_tokens;
        let mut e = Entry::new(m, &self.req);
        // Anthropic merges it into the newer message after it when they share
        // a role: no overhead of its own then.
        if format == Format::Anthropic && self.replies.last().is_some_and(|n| n.own == e.own) {
            e.charged = e.cost - MESSAGE_OVERHEAD + BLANK_LINE;
        }
        if self.used + e.charged <= max {
            self.used += e.charged;
            self.replies.push(e);
            return true;
        }
        // In `text`, a line will say that messages were left out.
        let note = match format {
            Format::Text => count_tokens(&format!("{OMITTED_NOTE}\n")),
            Format::Openai | Format::Anthropic => 0,
        };
        // The newest reply is worth keeping cut rather than losing.
        let room = max.saturating_sub(self.used + note);
        if self.replies.is_empty() && e.truncate_to(room, MIN_KEPT_TOKENS, format) {
            self.used += e.charged;
            self.replies.push(e);
            self.truncated_newest = true;
        } else {
            self.dropped += 1;
        }
        self.full = true;
        while self.used + note > max && self.replies.len() > 1 {
            self.drop_oldest();
        }
        false
    }

    /// Whether the budget is full (further offers are dropped).
    pub fn is_full(&self) -> bool {
        self.full
    }

    /// Counts `n` messages, older than any offered, that were never offered
    /// because the budget was full.
    pub fn add_unseen(&mut self, n: usize) {
        self.dropped += n;
    }

    fn drop_oldest(&mut self) -> usize {
        match self.replies.pop() {
            Some(e) => {
                self.used -= e.charged;
                self.dropped += 1;
                e.charged
            }
            None => 0,
        }
    }

    /// Renders what was kept, checking the exact count and, should it exceed
    /// the budget, giving up the oldest kept replies (then cutting the root).
    pub fn finish(mut self) -> Context {
        let max = self.req.max_tokens;
        loop {
            let (body, tokens) = self.render();
            if tokens <= max || !self.shrink(tokens - max) {
                return Context {
                    format: self.req.format,
                    tokens,
                    max_tokens: max,
                    kept: self.replies.len() + usize::from(self.root.is_some()),
                    dropped: self.dropped,
                    skipped: self.skipped,
                    truncated_root: self.truncated_root,
                    truncated_newest: self.truncated_newest,
                    truncated_groupmd: self.truncated_groupmd,
                    body,
                };
            }
        }
    }

    /// Frees at least `excess` tokens; false when there is nothing left to give.
    fn shrink(&mut self, excess: usize) -> bool {
        if !self.replies.is_empty() {
            let mut freed = 0;
            while freed < excess && !self.replies.is_empty() {
                freed += self.drop_oldest();
            }
            return true;
        }
        let format = self.req.format;
        if let Some(root) = &mut self.root {
            let room = root.cost.saturating_sub(excess);
            self.truncated_root = true;
            if !root.truncate_to(room, 1, format) {
                self.root = None;
            }
            return true;
        }
        if self.preamble.take().is_some() {
            self.truncated_groupmd = true;
            self.preamble_cost = 0;
            return true;
        }
        false
    }

    fn render(&self) -> (Value, usize) {
        let format = self.req.format;
        let in_order = self.root.iter().chain(self.replies.iter().rev());
        match format {
            Format::Text => {
                let mut out = String::new();
                if let Some(p) = &self.preamble {
                    out.push_str(p);
                    out.push_str("\n\n");
                }
                let mut lines: Vec<&str> = Vec::with_capacity(self.replies.len() + 2);
                if let Some(root) = &self.root {
                    lines.push(&root.rendered);
                }
                if self.dropped > 0 {
                    lines.push(OMITTED_NOTE);
                }
                lines.extend(self.replies.iter().rev().map(|e| e.rendered.as_str()));
                out.push_str(&lines.join("\n"));
                let tokens = count_tokens(&out);
                (Value::String(out), tokens)
            }
            Format::Openai => {
                let mut messages = Vec::with_capacity(self.replies.len() + 2);
                if let Some(p) = &self.preamble {
                    messages.push(json!({"role": "system", "content": p}));
                }
                let mut tokens = self.preamble_cost + REPLY_PRIMING;
                for e in in_order {
                    tokens += e.cost;
                    messages.push(match &e.name {
                        Some(name) => json!({"role": "user", "name": name, "content": e.rendered}),
                        None => json!({"role": role(e.own), "content": e.rendered}),
                    });
                }
                (json!({ "messages": messages }), tokens)
            }
            Format::Anthropic => {
                // Runs of the same role become one message.
                let mut runs: Vec<(bool, Vec<&Entry>)> = Vec::new();
                for e in in_order {
                    match runs.last_mut() {
                        Some((own, run)) if *own == e.own => run.push(e),
                        _ => runs.push((e.own, vec![e])),
                    }
                }
                let mut tokens = self.preamble_cost + REPLY_PRIMING;
                let mut messages = Vec::with_capacity(runs.len() + 1);
                if runs.first().is_some_and(|(own, _)| *own) {
                    tokens += MESSAGE_OVERHEAD + count_tokens(ANTHROPIC_OPENER);
                    messages.push(json!({"role": "user", "content": ANTHROPIC_OPENER}));
                }
                for (own, run) in runs {
                    let content = run
                        .iter()
                        .map(|e| e.rendered.as_str())
                        .collect::<Vec<_>>()
                        .join("\n\n");
                    // Counted exactly as sent (the estimates may be a token over).
                    tokens += MESSAGE_OVERHEAD + count_tokens(&content);
                    messages.push(json!({"role": role(own), "content": content}));
                }
                let mut body = serde_json::Map::new();
                if let Some(p) = &self.preamble {
                    body.insert("system".into(), Value::String(p.clone()));
                }
                body.insert("messages".into(), Value::Array(messages));
                (Value::Object(body), tokens)
            }
        }
    }
}

fn role(own: bool) -> &'static str {
    if own { "assistant" } else { "user" }
}

fn priming(format: Format) -> usize {
    match format {
        Format::Text => 0,
        Format::Openai | Format::Anthropic => REPLY_PRIMING,
    }
}

fn preamble_cost(p: &str, format: Format) -> usize {
    match format {
        // The preamble and the blank line after it.
        Format::Text => count_tokens(&format!("{p}\n\n")),
        Format::Openai | Format::Anthropic => MESSAGE_OVERHEAD + count_tokens(p),
    }
}

/// Renders `newest_first` (a thread's replies or a channel's top level, newest
/// first) within the budget. Stops consuming once the budget is full; the
/// messages it did not reach are counted as dropped by the iterator's
/// `size_hint` lower bound (exact for slices and vectors).
pub fn build_context<I>(req: ContextRequest<'_>, newest_first: I) -> Context
where
    I: IntoIterator,
    I::Item: Borrow<Message>,
{
    let mut builder = ContextBuilder::new(req);
    let mut rest = newest_first.into_iter();
    for m in rest.by_ref() {
        if !builder.offer(m.borrow()) {
            break;
        }
    }
    builder.add_unseen(rest.size_hint().0);
    builder.finish()
}

#[cfg(test)]
mod tests;
