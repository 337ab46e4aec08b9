//! When the scribe runs a pass over a channel.

use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScribeConfig {
    /// A pass after this many new messages in a channel.
    pub every_messages: usize,
    /// A pass once a channel has been quiet this long after its last message.
    pub idle: Duration,
}

impl Default for ScribeConfig {
    fn default() -> Self {
        Self {
            every_messages: 20,
            idle: Duration::from_secs(60),
        }
    }
}
