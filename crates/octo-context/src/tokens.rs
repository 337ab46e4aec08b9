//! The tokenizer: OpenAI's `o200k_base` BPE, whose ranks `tiktoken-rs` bundles
//! in the binary (nothing is fetched at run time). Building it takes a moment,
//! so it is built once, on first use, and shared.

use std::sync::OnceLock;
use tiktoken_rs::CoreBPE;

/// The name of the encoding every count in this crate uses.
pub const TOKENIZER: &str = "o200k_base";

fn bpe() -> &'static CoreBPE {
    static BPE: OnceLock<CoreBPE> = OnceLock::new();
    BPE.get_or_init(|| tiktoken_rs::o200k_base().expect("the bundled o200k_base ranks parse"))
}

/// Builds the tokenizer now rather than on the first count (a server may call
/// this at start-up so the first request does not pay for it).
pub fn warm_up() {
    bpe();
}

/// How many `o200k_base` tokens `text` is (special tokens read as plain text).
pub fn count_tokens(text: &str) -> usize {
    bpe().encode_ordinary(text).len()
}

/// The longest prefix of `text` that is at most `n` tokens, cut on a character
/// boundary. Returns `text` itself when it is short enough.
pub(crate) fn prefix_of_tokens(text: &str, n: usize) -> &str {
    let tokens = bpe().encode_ordinary(text);
    if tokens.len() <= n {
        return text;
    }
    // The tokens decode to a byte prefix of `text` (BPE is lossless); a token
    // may end inside a multi-byte character, so step back to a boundary.
    let mut len = bpe()
        .decode_bytes(&tokens[..n])
        .map_or(0, |b| b.len())
        .min(text.len());
    while !text.is_char_boundary(len) {
        len -= 1;
    }
    &text[..len]
}
