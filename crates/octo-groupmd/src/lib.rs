//! group.md: a channel's (or thread's) living document of decisions, working
//! agreements, open questions and action items.
//!
//! * [`Document`] parses and renders the Markdown; anything it does not
//!   understand is kept byte for byte, so human edits survive any number of
//!   maintainer passes.
//! * [`extract`] is the deterministic maintainer: from the messages since the last
//!   revision it reads decisions, action items and open questions (no LLM).
//! * [`Document::apply`] merges what it read into the document.
//! * [`check_revision`] guards a whole revised document (an LLM's) before it
//!   is proposed.
//! * [`merge3`] replays a change made on an older revision onto the current one.
//!
//! Pure: no I/O, no clock.

mod conversation;
mod diff;
mod document;
mod extract;
mod merge;
mod model;
mod rebase;
mod revise;
mod text;

pub use conversation::{Conversation, Output, OutputAction};
pub use diff::line_diff;
pub use document::{Document, DocumentError, ItemLine, MAX_BYTES, SectionKind, TEMPLATE};
pub use extract::{extract, extract_since};
pub use model::{ActionItem, Decision, Extraction, Member, Message, Question, Reaction};
pub use rebase::merge3;
pub use revise::{RevisionError, check_revision};
