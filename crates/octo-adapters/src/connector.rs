//! What every connector does: handle one turn through a [`Platform`].

use crate::platform::{Platform, PlatformError, Turn};
use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The agent could not answer; the text is shown as its status.
    #[error("{0}")]
    Failed(String),
    #[error("the chat platform: {0}")]
    Platform(#[from] PlatformError),
}

impl ConnectorError {
    /// Worth trying again later (after a restart): the platform was away.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ConnectorError::Platform(PlatformError::Unavailable(_))
        )
    }
}

#[async_trait]
pub trait Connector: Send + Sync {
    /// Answers the turn (or explains why not with an error).
    async fn handle(&self, platform: &dyn Platform, turn: &Turn) -> Result<(), ConnectorError>;
}
