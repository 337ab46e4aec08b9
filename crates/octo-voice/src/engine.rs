//! The recogniser behind the correction pass: anything that turns 16 kHz mono
//! audio into words, optionally biased toward a channel's vocabulary.

use crate::audio::Audio;
use crate::context::ChannelContext;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum EngineError {
    /// The engine cannot run here (library missing, endpoint not configured).
    #[error("speech engine unavailable: {0}")]
    Unavailable(String),
    /// The engine ran and failed (endpoint error, decoder error).
    #[error("speech engine failed: {0}")]
    Failed(String),
}

#[async_trait::async_trait]
pub trait Engine: Send + Sync {
    /// Reported in every transcript (`pocketsphinx`, `openai`).
    fn name(&self) -> &'static str;

    /// Whether biasing pulls ordinary words toward the channel's (a mixed
    /// language model does; a text prompt barely), so the corrector should
    /// also hear the unbiased hypothesis and merge the two.
    fn biasing_drifts(&self) -> bool {
        false
    }

    /// Words heard in `audio`; with a context, biased toward its vocabulary.
    async fn transcribe(
        &self,
        audio: &Audio,
        context: Option<&ChannelContext>,
    ) -> Result<String, EngineError>;
}
