//! Bindings to Debian's libpocketsphinx (0.8+5prealpha), resolved at run time.
//!
//! The crates.io `pocketsphinx` crate declares an older C API than Debian
//! ships, and linking at build time would make every build depend on the
//! library; so the dozen functions used here are looked up with `dlopen`
//! when the first decoder is made. Without the library, [`Library::open`]
//! says so and the caller reports the engine as unavailable.
//!
//! A [`Decoder`] is not thread-safe (the C decoder keeps its search state
//! inside); it is `Send` but not `Sync`, so one thread uses it at a time.

mod decoder;
mod ffi;

pub use decoder::{Decoder, DecoderConfig};
pub use ffi::Library;

#[derive(Debug, thiserror::Error)]
pub enum SphinxError {
    #[error("libpocketsphinx is not installed: {0}")]
    NotInstalled(String),
    #[error("pocketsphinx: {0}")]
    Failed(String),
}
