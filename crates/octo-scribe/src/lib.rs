//! The built-in `scribe` agent: keeps each channel's group.md current.
//!
//! It is an ordinary agent: it reaches the server only through `octo-client`
//! with its own token, subscribes over the WebSocket (server-side cursors, acked
//! only once a channel's messages are in group.md, so a restart loses nothing),
//! and runs a maintainer: the deterministic one of `octo-groupmd` (default), or
//! an OpenAI-compatible LLM whose revised document is checked before it is written.
//!
//! * [`run`] is the loop; [`ScribeConfig`] its thresholds and maintainer.
//! * [`note`] says what a revision changed; [`answer`] answers `@scribe`.

mod agent;
pub mod answer;
mod config;
mod convert;
mod llm;
mod maintainer;
pub mod note;

pub use agent::{ScribeError, run};
pub use config::{MaintainerConfig, OpenAiMaintainer, ScribeConfig};
pub use llm::LlmError;
pub use maintainer::{LlmRevisionError, llm_revision};
