//! The embedded offline engine: Debian's pocketsphinx, loaded at run time.
//!
//! Decoders take ~0.5 s and ~100 MB to start and are not thread-safe, so the
//! engine keeps a small pool of general ones (no channel context) and a
//! small cache of channel ones, keyed by the channel's dictionary and model.
//! A channel decoder loads the general dictionary merged with pronunciations
//! of the channel's words, and mixes the general language model with the
//! channel's small ARPA model (weights 1 - [`CHANNEL_LM_WEIGHT`] and
//! [`CHANNEL_LM_WEIGHT`]).

use crate::audio::Audio;
use crate::context::ChannelContext;
use crate::engine::{Engine, EngineError};
use crate::phones::{Pronouncer, render};
use octo_asr_pocketsphinx::{Decoder, DecoderConfig, Library};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

pub const DEFAULT_MODEL_DIR: &str = "/usr/share/pocketsphinx/model/en-us";
/// Share of the channel's model in the mix.
pub const CHANNEL_LM_WEIGHT: f32 = 0.1;
/// General decoders kept warm.
pub const POOL_SIZE: usize = 2;
/// Channel decoders kept warm (most recently used).
pub const CHANNEL_CACHE: usize = 2;

/// Cheap to clone: the pools are shared.
#[derive(Clone)]
pub struct PocketsphinxEngine(Arc<Sphinx>);

pub struct Sphinx {
    model_dir: PathBuf,
    pronouncer: Arc<Pronouncer>,
    library: OnceLock<Result<Arc<Library>, String>>,
    general: Mutex<Vec<Decoder>>,
    channels: Mutex<Vec<(u64, Decoder)>>,
    scratch: Option<tempfile::TempDir>,
}

impl PocketsphinxEngine {
    pub fn new(model_dir: &Path, pronouncer: Arc<Pronouncer>) -> PocketsphinxEngine {
        PocketsphinxEngine(Arc::new(Sphinx {
            model_dir: model_dir.to_path_buf(),
            pronouncer,
            library: OnceLock::new(),
            general: Mutex::new(Vec::new()),
            channels: Mutex::new(Vec::new()),
            scratch: tempfile::Builder::new()
                .prefix("octo-voice-")
                .tempdir()
                .ok(),
        }))
    }

    /// Checks that the library and model are here, without starting a decoder.
    pub fn check(&self) -> Result<(), EngineError> {
        self.0.library()?;
        self.0.paths().map(|_| ())
    }
}

impl Sphinx {
    fn library(&self) -> Result<Arc<Library>, EngineError> {
        let lib = self
            .library
            .get_or_init(|| Library::open().map(Arc::new).map_err(|e| e.to_string()));
        lib.clone().map_err(EngineError::Unavailable)
    }

    fn paths(&self) -> Result<(PathBuf, PathBuf, PathBuf), EngineError> {
        let hmm = self.model_dir.join("en-us");
        let lm = self.model_dir.join("en-us.lm.bin");
        let dict = self.model_dir.join("cmudict-en-us.dict");
        for p in [&hmm, &lm, &dict] {
            if !p.exists() {
                return Err(EngineError::Unavailable(format!(
                    "the pocketsphinx model is missing: {} (apt-get install pocketsphinx-en-us)",
                    p.display()
                )));
            }
        }
        Ok((hmm, lm, dict))
    }

    fn decode_general(&self, samples: &[i16]) -> Result<String, EngineError> {
        let lib = self.library()?;
        let (hmm, lm, dict) = self.paths()?;
        let pooled = self.general.lock().ok().and_then(|mut p| p.pop());
        let mut decoder = match pooled {
            Some(d) => d,
            None => Decoder::new(
                lib,
                &DecoderConfig {
                    hmm,
                    dict,
                    lm,
                    channel_lm: None,
                },
            )
            .map_err(|e| EngineError::Failed(e.to_string()))?,
        };
        let text = decoder
            .decode(samples)
            .map_err(|e| EngineError::Failed(e.to_string()))?;
        if let Ok(mut pool) = self.general.lock()
            && pool.len() < POOL_SIZE
        {
            pool.push(decoder);
        }
        Ok(text)
    }

    fn decode_channel(
        &self,
        samples: &[i16],
        context: &ChannelContext,
    ) -> Result<String, EngineError> {
        let lib = self.library()?;
        let (hmm, lm, dict) = self.paths()?;
        let extra = self.extra_dictionary(context);
        let arpa = context
            .lm
            .to_arpa(&|w| self.pronouncer.lookup(w).is_some() || context.term(w).is_some());
        let mut hasher = DefaultHasher::new();
        (&extra, &arpa).hash(&mut hasher);
        let key = hasher.finish();
        let cached = self.channels.lock().ok().and_then(|mut c| {
            let at = c.iter().position(|(k, _)| *k == key)?;
            Some(c.remove(at).1)
        });
        let mut decoder = match cached {
            Some(d) => d,
            None => {
                let scratch = self
                    .scratch
                    .as_ref()
                    .ok_or_else(|| EngineError::Failed("no scratch directory".into()))?;
                let dict_path = scratch.path().join(format!("{key:016x}.dict"));
                let arpa_path = scratch.path().join(format!("{key:016x}.arpa"));
                let mut merged = std::fs::read_to_string(&dict)
                    .map_err(|e| EngineError::Failed(format!("cannot read the dictionary: {e}")))?;
                merged.push_str(&extra);
                std::fs::write(&dict_path, merged)
                    .and_then(|()| std::fs::write(&arpa_path, &arpa))
                    .map_err(|e| {
                        EngineError::Failed(format!("cannot write the channel model: {e}"))
                    })?;
                let made = Decoder::new(
                    lib,
                    &DecoderConfig {
                        hmm,
                        dict: dict_path.clone(),
                        lm,
                        channel_lm: Some((arpa_path.clone(), CHANNEL_LM_WEIGHT)),
                    },
                );
                // The decoder has read both files; they are not needed again.
                let _ = std::fs::remove_file(&dict_path);
                let _ = std::fs::remove_file(&arpa_path);
                made.map_err(|e| EngineError::Failed(e.to_string()))?
            }
        };
        let text = decoder
            .decode(samples)
            .map_err(|e| EngineError::Failed(e.to_string()))?;
        if let Ok(mut cache) = self.channels.lock() {
            cache.push((key, decoder));
            while cache.len() > CHANNEL_CACHE {
                cache.remove(0);
            }
        }
        Ok(text)
    }

    /// Dictionary lines for the channel's words. Words the general dictionary
    /// already has get their new readings as numbered alternatives.
    fn extra_dictionary(&self, context: &ChannelContext) -> String {
        let mut out = String::new();
        for term in &context.terms {
            let known = self.pronouncer.lookup(&term.key).unwrap_or_default();
            let mut alt = known.len() + 1;
            for p in &term.prons {
                if known.contains(p) {
                    continue;
                }
                if alt == 1 {
                    out.push_str(&format!("{} {}\n", term.key, render(p)));
                } else {
                    out.push_str(&format!("{}({alt}) {}\n", term.key, render(p)));
                }
                alt += 1;
            }
        }
        out
    }
}

#[async_trait::async_trait]
impl Engine for PocketsphinxEngine {
    fn name(&self) -> &'static str {
        "pocketsphinx"
    }

    fn biasing_drifts(&self) -> bool {
        true
    }

    async fn transcribe(
        &self,
        audio: &Audio,
        context: Option<&ChannelContext>,
    ) -> Result<String, EngineError> {
        // Decoding is CPU-bound C code; it runs off the async workers.
        let sphinx = self.0.clone();
        let samples = audio.samples.clone();
        let context = context.filter(|c| !c.terms.is_empty()).cloned();
        tokio::task::spawn_blocking(move || match context {
            Some(c) => sphinx.decode_channel(&samples, &c),
            None => sphinx.decode_general(&samples),
        })
        .await
        .map_err(|e| EngineError::Failed(format!("the decoder stopped: {e}")))?
    }
}
