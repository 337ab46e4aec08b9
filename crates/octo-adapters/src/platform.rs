//! The chat platform as the connectors see it. Connectors only ever talk to a
//! [`Platform`], so another chat system can be bridged later by implementing
//! this trait, without touching them.

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// The platform answered with an error (`code` is its stable part).
    #[error("{code}: {message}")]
    Refused { code: String, message: String },
    #[error("{0}")]
    Unavailable(String),
}

/// One unit of work: the agent was woken and should answer.
#[derive(Debug, Clone, Serialize)]
pub struct Turn {
    /// Stable across redeliveries: the same trigger is the same turn.
    pub id: String,
    pub agent: String,
    pub channel_id: String,
    /// The seq of the event that woke the agent.
    pub seq: u64,
    /// Why: mention, agents, dm, thread, all, reaction.
    pub reason: String,
    /// The message that woke the agent.
    pub message_id: String,
    /// Where replies go: the thread of that message (its root).
    pub thread_id: String,
    /// The text of the message that woke the agent, when it is a message.
    pub text: Option<String>,
    /// A credential for this turn only (Octo: the channel-scoped turn token).
    #[serde(skip)]
    pub token: String,
    /// Where the platform is, for commands that call it themselves.
    #[serde(skip)]
    pub platform_url: String,
}

/// The shape of the conversation a connector asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextFormat {
    /// `{"messages": [{role, content, name?}]}`.
    OpenAi,
    Text,
}

/// How opening a reply went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// A new reply, open for deltas.
    Stream(String),
    /// This turn was already answered (by an earlier run of the bridge).
    AlreadyAnswered,
    /// An earlier run opened this reply and stopped mid-way: write it again
    /// whole with [`Platform::finish_reply`] (deltas would repeat text).
    Reopened(String),
}

#[async_trait]
pub trait Platform: Send + Sync {
    /// The conversation the turn is about, within `max_tokens`.
    async fn context(
        &self,
        turn: &Turn,
        format: ContextFormat,
        max_tokens: usize,
    ) -> Result<Value, PlatformError>;

    /// Opens the turn's reply as a stream in its thread; at most one per turn.
    async fn open_reply(&self, turn: &Turn) -> Result<Opened, PlatformError>;

    async fn append_reply(
        &self,
        turn: &Turn,
        reply: &str,
        delta: &str,
    ) -> Result<(), PlatformError>;

    /// Ends the reply; `text` replaces what the deltas wrote when given.
    async fn finish_reply(
        &self,
        turn: &Turn,
        reply: &str,
        text: Option<&str>,
    ) -> Result<(), PlatformError>;

    /// A whole message in the turn's thread (or at the top level), sent at
    /// most once per (turn, `key`).
    async fn post(
        &self,
        turn: &Turn,
        text: &str,
        in_thread: bool,
        key: &str,
    ) -> Result<(), PlatformError>;

    async fn react(&self, turn: &Turn, message_id: &str, emoji: &str) -> Result<(), PlatformError>;

    /// Messages matching `query` that the turn may see.
    async fn search(&self, turn: &Turn, query: &str) -> Result<Value, PlatformError>;

    /// Proposes a new group.md text for the turn's channel.
    async fn propose_groupmd(&self, turn: &Turn, text: &str) -> Result<(), PlatformError>;

    /// The agent's status line in the turn's channel; empty clears it.
    async fn set_status(&self, turn: &Turn, text: &str) -> Result<(), PlatformError>;

    /// The turn is handled: it is not delivered again.
    async fn done(&self, turn: &Turn);
}

/// Cuts `text` to at most `max` characters, marking the cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}
