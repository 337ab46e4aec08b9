//! The built-in `scribe` agent: keeps each channel's group.md current.
//!
//! It is an ordinary agent: it reaches the server only through `octo-client`
//! with its own token, subscribes over the WebSocket (server-side cursors, acked
//! only once a channel's messages are in group.md, so a restart loses nothing),
//! and runs the deterministic maintainer of `octo-groupmd`, no LLM.
//!
//! * [`run`] is the loop; [`ScribeConfig`] its thresholds.
//! * [`note`] says what a revision changed; [`answer`] answers `@scribe`.

mod agent;
pub mod answer;
mod config;
mod convert;
pub mod note;

pub use agent::{ScribeError, run};
pub use config::ScribeConfig;
