//! One pocketsphinx decoder: acoustic model, dictionary, and either the
//! general language model or the general one mixed with a channel's.

use crate::SphinxError;
use crate::ffi::{Library, Ptr};
use std::ffi::{CStr, CString, c_char};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// `NGRAM_AUTO` in `ngram_file_type_t`: guess the format from the file.
const NGRAM_AUTO: i32 = 0;

pub struct DecoderConfig {
    /// The acoustic model directory (`…/model/en-us/en-us`).
    pub hmm: PathBuf,
    /// The pronunciation dictionary (general, or general + channel words).
    pub dict: PathBuf,
    /// The general language model (`en-us.lm.bin`).
    pub lm: PathBuf,
    /// A channel ARPA model to interpolate with the general one, and its
    /// weight (the general model gets the rest). Words are never added to
    /// the large general model at run time: Debian's library crashes then.
    pub channel_lm: Option<(PathBuf, f32)>,
}

pub struct Decoder {
    lib: Arc<Library>,
    ps: Ptr,
    config: Ptr,
}

// SAFETY: a decoder has no thread affinity; it only must not be used from two
// threads at once, which `&mut self` on `decode` (and no `Sync`) guarantees.
unsafe impl Send for Decoder {}

fn cstring(s: &str) -> Result<CString, SphinxError> {
    CString::new(s).map_err(|_| SphinxError::Failed(format!("a NUL byte in {s:?}")))
}

fn path_cstring(p: &Path) -> Result<CString, SphinxError> {
    cstring(&p.to_string_lossy())
}

impl Decoder {
    /// Starts a decoder; takes about half a second and 100 MB.
    pub fn new(lib: Arc<Library>, cfg: &DecoderConfig) -> Result<Decoder, SphinxError> {
        let mut args: Vec<CString> = vec![
            cstring("-hmm")?,
            path_cstring(&cfg.hmm)?,
            cstring("-dict")?,
            path_cstring(&cfg.dict)?,
            cstring("-logfn")?,
            cstring("/dev/null")?,
        ];
        if cfg.channel_lm.is_none() {
            args.push(cstring("-lm")?);
            args.push(path_cstring(&cfg.lm)?);
        }
        let mut argv: Vec<*mut c_char> = args.iter().map(|a| a.as_ptr().cast_mut()).collect();
        let f = &lib.fns;
        // SAFETY: `ps_args` returns a static table; `argv` holds `args.len()`
        // valid NUL-terminated strings that outlive the call (the parser
        // copies what it keeps).
        let config = unsafe {
            (f.cmd_ln_parse_r)(
                std::ptr::null_mut(),
                (f.ps_args)(),
                argv.len() as i32,
                argv.as_mut_ptr(),
                0,
            )
        };
        if config.is_null() {
            return Err(SphinxError::Failed("the configuration was rejected".into()));
        }
        // SAFETY: `config` is a live configuration from `cmd_ln_parse_r`;
        // `ps_init` takes its own reference to it.
        let ps = unsafe { (f.ps_init)(config) };
        if ps.is_null() {
            // SAFETY: `config` is ours and no decoder holds it.
            unsafe { (f.cmd_ln_free_r)(config) };
            return Err(SphinxError::Failed(
                "the decoder did not start (model or dictionary missing?)".into(),
            ));
        }
        let decoder = Decoder { lib, ps, config };
        if let Some((channel, weight)) = &cfg.channel_lm {
            decoder.mix(&cfg.lm, channel, *weight)?;
        }
        Ok(decoder)
    }

    /// Interpolates the general model with the channel's and makes that the
    /// active search. The set and its models then belong to the decoder,
    /// which frees them in `ps_free`.
    fn mix(&self, general: &Path, channel: &Path, weight: f32) -> Result<(), SphinxError> {
        let f = &self.lib.fns;
        let general_c = path_cstring(general)?;
        let channel_c = path_cstring(channel)?;
        let mut models: [Ptr; 2] = [std::ptr::null_mut(); 2];
        for (slot, path) in models.iter_mut().zip([&general_c, &channel_c]) {
            // SAFETY: `self.ps` is live; `ngram_model_read` takes ownership of
            // one reference to the log-math table, so one is added first.
            // The path is a valid C string for the duration of the call.
            *slot = unsafe {
                let lmath = (f.logmath_retain)((f.ps_get_logmath)(self.ps));
                (f.ngram_model_read)(self.config, path.as_ptr(), NGRAM_AUTO, lmath)
            };
            if slot.is_null() {
                return Err(SphinxError::Failed(format!(
                    "cannot read the language model {}",
                    path.to_string_lossy()
                )));
            }
        }
        let names = [cstring("general")?, cstring("channel")?];
        let mut name_ptrs: [*mut c_char; 2] =
            [names[0].as_ptr().cast_mut(), names[1].as_ptr().cast_mut()];
        let weights: [f32; 2] = [1.0 - weight, weight];
        let search = cstring("channel")?;
        // SAFETY: two live models, two names and two weights, as `n_models`
        // says; the set copies the names. `ps_set_lm` keeps the set, and the
        // search name is a valid C string.
        let ok = unsafe {
            let set = (f.ngram_model_set_init)(
                self.config,
                models.as_mut_ptr(),
                name_ptrs.as_mut_ptr(),
                weights.as_ptr(),
                2,
            );
            !set.is_null()
                && (f.ps_set_lm)(self.ps, search.as_ptr(), set) == 0
                && (f.ps_set_search)(self.ps, search.as_ptr()) == 0
        };
        if ok {
            Ok(())
        } else {
            Err(SphinxError::Failed(
                "cannot mix the channel's language model in".into(),
            ))
        }
    }

    /// Decodes one utterance of 16 kHz mono 16-bit samples.
    pub fn decode(&mut self, samples: &[i16]) -> Result<String, SphinxError> {
        let f = &self.lib.fns;
        let mut score = 0i32;
        // SAFETY: `self.ps` is live and used by this thread alone (`&mut`);
        // the sample slice is valid for `samples.len()` values during the
        // call; the hypothesis string is owned by the decoder and copied out
        // before the decoder is used again.
        unsafe {
            if (f.ps_start_utt)(self.ps) < 0 {
                return Err(SphinxError::Failed("cannot start an utterance".into()));
            }
            if (f.ps_process_raw)(self.ps, samples.as_ptr(), samples.len(), 0, 1) < 0 {
                (f.ps_end_utt)(self.ps);
                return Err(SphinxError::Failed("cannot process the audio".into()));
            }
            if (f.ps_end_utt)(self.ps) < 0 {
                return Err(SphinxError::Failed("cannot end the utterance".into()));
            }
            let hyp = (f.ps_get_hyp)(self.ps, &mut score);
            if hyp.is_null() {
                return Ok(String::new());
            }
            Ok(CStr::from_ptr(hyp).to_string_lossy().into_owned())
        }
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        let f = &self.lib.fns;
        // SAFETY: both pointers are live and owned by this value alone; the
        // decoder is freed first since it holds a reference to the config.
        unsafe {
            (f.ps_free)(self.ps);
            (f.cmd_ln_free_r)(self.config);
        }
    }
}
