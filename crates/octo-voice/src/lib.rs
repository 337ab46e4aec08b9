//! Voice input for Octo (DESIGN §5): audio in, the channel's own words out.
//!
//! [`Voice::transcribe`] decodes a WAV ([`audio`]), runs an [`Engine`]
//! (embedded [`pocketsphinx`] or any [`openai`]-compatible endpoint) biased
//! with the channel's [`context`], then the [`correct`]ion pass: sound-alike
//! terms, spoken symbols and spoken mentions, every change reported.

pub mod audio;
pub mod context;
pub mod correct;
pub mod engine;
pub mod lm;
pub mod merge;
pub mod openai;
pub mod phones;
pub mod pocketsphinx;

pub use audio::{Audio, AudioError, decode_wav};
pub use context::{ChannelContext, ChannelInput};
pub use correct::{Corrected, Correction, correct};
pub use engine::{Engine, EngineError};
pub use phones::Pronouncer;

use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    #[error(transparent)]
    Audio(#[from] AudioError),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// One transcription, as the API returns it.
#[derive(Debug, Clone, Serialize)]
pub struct Transcript {
    /// What the engine heard (biased by the channel, before correction).
    pub raw: String,
    /// The corrected text.
    pub text: String,
    pub corrections: Vec<Correction>,
    pub mentions: Vec<String>,
    pub engine: String,
    /// Wall time of decoding, recognition and correction.
    pub ms: u64,
    /// Length of the audio, in seconds.
    pub audio_seconds: f64,
}

/// The engine plus the pronunciation dictionary the corrector needs.
#[derive(Clone)]
pub struct Voice {
    engine: Arc<dyn Engine>,
    pronouncer: Arc<Pronouncer>,
}

impl Voice {
    pub fn new(engine: Arc<dyn Engine>, pronouncer: Arc<Pronouncer>) -> Voice {
        Voice { engine, pronouncer }
    }

    /// The offline default: pocketsphinx with Debian's model.
    pub fn pocketsphinx() -> Voice {
        let pronouncer = Arc::new(Pronouncer::default_dict());
        let engine = pocketsphinx::PocketsphinxEngine::new(
            std::path::Path::new(pocketsphinx::DEFAULT_MODEL_DIR),
            pronouncer.clone(),
        );
        Voice::new(Arc::new(engine), pronouncer)
    }

    pub fn engine_name(&self) -> &'static str {
        self.engine.name()
    }

    pub fn pronouncer(&self) -> &Arc<Pronouncer> {
        &self.pronouncer
    }

    /// The channel's lexicon and language model (spawns `t2p` for new words,
    /// so call it off the async workers or accept a few milliseconds).
    pub fn context(&self, input: &ChannelInput) -> ChannelContext {
        ChannelContext::build(input, &self.pronouncer)
    }

    /// Transcribes `wav`. Without a channel, `text` is what the engine heard.
    pub async fn transcribe(
        &self,
        wav: &[u8],
        channel: Option<&ChannelInput>,
    ) -> Result<Transcript, VoiceError> {
        let started = Instant::now();
        let audio = decode_wav(wav)?;
        let context = match channel {
            Some(input) => {
                let voice = self.clone();
                let input = input.clone();
                let built = tokio::task::spawn_blocking(move || voice.context(&input)).await;
                Some(built.map_err(|e| EngineError::Failed(e.to_string()))?)
            }
            None => None,
        };
        let mut raw = self.engine.transcribe(&audio, context.as_ref()).await?;
        if let Some(c) = &context
            && self.engine.biasing_drifts()
        {
            let general = self.engine.transcribe(&audio, None).await?;
            raw = merge::merge(&general, &raw, c);
        }
        let corrected = match &context {
            Some(c) => correct(&raw, c, &self.pronouncer),
            None => Corrected {
                text: raw.clone(),
                ..Corrected::default()
            },
        };
        Ok(Transcript {
            raw,
            text: corrected.text,
            corrections: corrected.corrections,
            mentions: corrected.mentions,
            engine: self.engine.name().to_string(),
            ms: started.elapsed().as_millis() as u64,
            audio_seconds: audio.seconds(),
        })
    }
}
