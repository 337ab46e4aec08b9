//! When the scribe runs a pass over a channel, and what writes the revision.

use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScribeConfig {
    /// A pass after this many new messages in a channel.
    pub every_messages: usize,
    /// A pass once a channel has been quiet this long after its last message.
    pub idle: Duration,
    /// What turns the new messages into the next revision.
    pub maintainer: MaintainerConfig,
}

impl Default for ScribeConfig {
    fn default() -> Self {
        Self {
            every_messages: 20,
            idle: Duration::from_secs(60),
            maintainer: MaintainerConfig::Rules,
        }
    }
}

/// The maintainer a pass runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum MaintainerConfig {
    /// The deterministic reader of `octo-groupmd`: offline, item lines only.
    #[default]
    Rules,
    /// An OpenAI-compatible `chat/completions` endpoint rewrites the document;
    /// its answer is checked before it is written.
    OpenAi(OpenAiMaintainer),
}

/// An OpenAI-compatible endpoint for the LLM maintainer.
#[derive(Clone, PartialEq, Eq)]
pub struct OpenAiMaintainer {
    /// Up to and including `/v1`, e.g. `http://127.0.0.1:8000/v1`.
    pub base_url: String,
    pub model: String,
    pub api_key: Option<String>,
    /// For one request, answer included.
    pub timeout: Duration,
    /// Tries per pass for 429, 5xx and unreachable endpoints.
    pub max_attempts: u32,
    /// The largest answer body read, in bytes (the document itself is held to
    /// group.md's own 64 KiB limit).
    pub max_response_bytes: usize,
}

impl OpenAiMaintainer {
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            timeout: Duration::from_secs(60),
            max_attempts: 3,
            max_response_bytes: 256 * 1024,
        }
    }
}

// The key stays out of logs.
impl std::fmt::Debug for OpenAiMaintainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiMaintainer")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("timeout", &self.timeout)
            .field("max_attempts", &self.max_attempts)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}
