//! The C functions used, with the signatures of Debian's headers
//! (`/usr/include/pocketsphinx/pocketsphinx.h`, `sphinxbase/ngram_model.h`,
//! `sphinxbase/cmd_ln.h`): `int32` is `i32`, `float32` is `f32`, and every
//! object is an opaque pointer.

use crate::SphinxError;
use std::ffi::{c_char, c_int, c_void};

pub type Ptr = *mut c_void;

pub struct Fns {
    pub ps_args: unsafe extern "C" fn() -> *const c_void,
    pub cmd_ln_parse_r: unsafe extern "C" fn(Ptr, *const c_void, i32, *mut *mut c_char, i32) -> Ptr,
    pub cmd_ln_free_r: unsafe extern "C" fn(Ptr) -> c_int,
    pub ps_init: unsafe extern "C" fn(Ptr) -> Ptr,
    pub ps_free: unsafe extern "C" fn(Ptr) -> c_int,
    pub ps_start_utt: unsafe extern "C" fn(Ptr) -> c_int,
    pub ps_process_raw: unsafe extern "C" fn(Ptr, *const i16, usize, c_int, c_int) -> c_int,
    pub ps_end_utt: unsafe extern "C" fn(Ptr) -> c_int,
    pub ps_get_hyp: unsafe extern "C" fn(Ptr, *mut i32) -> *const c_char,
    pub ps_get_logmath: unsafe extern "C" fn(Ptr) -> Ptr,
    pub ps_set_lm: unsafe extern "C" fn(Ptr, *const c_char, Ptr) -> c_int,
    pub ps_set_search: unsafe extern "C" fn(Ptr, *const c_char) -> c_int,
    pub logmath_retain: unsafe extern "C" fn(Ptr) -> Ptr,
    pub ngram_model_read: unsafe extern "C" fn(Ptr, *const c_char, c_int, Ptr) -> Ptr,
    pub ngram_model_set_init:
        unsafe extern "C" fn(Ptr, *mut Ptr, *mut *mut c_char, *const f32, i32) -> Ptr,
}

/// The loaded libraries and their functions; the pointers in [`Fns`] stay
/// valid for as long as this value (which owns the handles) lives.
pub struct Library {
    pub fns: Fns,
    _sphinxbase: libloading::Library,
    _pocketsphinx: libloading::Library,
}

const POCKETSPHINX: [&str; 2] = ["libpocketsphinx.so.3", "libpocketsphinx.so"];
const SPHINXBASE: [&str; 2] = ["libsphinxbase.so.3", "libsphinxbase.so"];

fn open_any(names: &[&str]) -> Result<libloading::Library, SphinxError> {
    let mut last = String::new();
    for name in names {
        // SAFETY: loading a shared library runs its initialisers; these are
        // Debian's sphinx libraries, whose initialisers only set up globals.
        match unsafe { libloading::Library::new(name) } {
            Ok(lib) => return Ok(lib),
            Err(e) => last = e.to_string(),
        }
    }
    Err(SphinxError::NotInstalled(last))
}

macro_rules! symbol {
    ($lib:expr, $name:ident) => {{
        // SAFETY: the type given is the function's C signature as declared
        // in Debian's headers (see the field in `Fns`); the pointer is only
        // used while the library handle, kept beside it, is alive.
        let sym = unsafe { $lib.get(concat!(stringify!($name), "\0").as_bytes()) }
            .map_err(|e| SphinxError::NotInstalled(e.to_string()))?;
        *sym
    }};
}

impl Library {
    /// Loads libpocketsphinx and libsphinxbase and resolves every function.
    pub fn open() -> Result<Library, SphinxError> {
        let base = open_any(&SPHINXBASE)?;
        let ps = open_any(&POCKETSPHINX)?;
        let fns = Fns {
            ps_args: symbol!(ps, ps_args),
            cmd_ln_parse_r: symbol!(base, cmd_ln_parse_r),
            cmd_ln_free_r: symbol!(base, cmd_ln_free_r),
            ps_init: symbol!(ps, ps_init),
            ps_free: symbol!(ps, ps_free),
            ps_start_utt: symbol!(ps, ps_start_utt),
            ps_process_raw: symbol!(ps, ps_process_raw),
            ps_end_utt: symbol!(ps, ps_end_utt),
            ps_get_hyp: symbol!(ps, ps_get_hyp),
            ps_get_logmath: symbol!(ps, ps_get_logmath),
            ps_set_lm: symbol!(ps, ps_set_lm),
            ps_set_search: symbol!(ps, ps_set_search),
            logmath_retain: symbol!(base, logmath_retain),
            ngram_model_read: symbol!(base, ngram_model_read),
            ngram_model_set_init: symbol!(base, ngram_model_set_init),
        };
        Ok(Library {
            fns,
            _sphinxbase: base,
            _pocketsphinx: ps,
        })
    }
}
