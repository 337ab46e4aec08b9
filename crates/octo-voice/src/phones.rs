//! Pronunciations: the CMU dictionary when it knows a word, and generated ones
//! for the channel's own words (letter-to-sound with flite's `t2p` when it is
//! installed, compound splitting into dictionary words, acronyms spelled out,
//! digits read as numbers, and a small rule set as the last resort).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The 39 CMU phones; a pronunciation is a string of indexes into this table.
pub const PHONES: [&str; 39] = [
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH",
    "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH",
    "UW", "V", "W", "Y", "Z", "ZH",
];

pub type Pron = Vec<u8>;

/// Debian's pocketsphinx-en-us dictionary.
pub const DEFAULT_DICT: &str = "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict";
/// At most this many pronunciations are kept per word.
const MAX_VARIANTS: usize = 4;

pub fn phone_index(name: &str) -> Option<u8> {
    let upper = name
        .trim_end_matches(|c: char| c.is_ascii_digit())
        .to_ascii_uppercase();
    // flite writes the schwa as "ax"; the CMU set folds it into AH.
    let upper = if upper == "AX" {
        "AH".to_string()
    } else {
        upper
    };
    PHONES.iter().position(|p| *p == upper).map(|i| i as u8)
}

pub fn is_vowel(p: u8) -> bool {
    PHONES[usize::from(p)]
        .chars()
        .next()
        .is_some_and(|c| "AEIOU".contains(c))
}

pub fn render(pron: &[u8]) -> String {
    pron.iter()
        .map(|p| PHONES[usize::from(*p)])
        .collect::<Vec<_>>()
        .join(" ")
}

pub struct Pronouncer {
    dict: HashMap<String, Vec<Pron>>,
    dict_path: Option<PathBuf>,
    t2p: Option<PathBuf>,
    generated: Mutex<HashMap<String, Vec<Pron>>>,
}

impl Pronouncer {
    /// Loads the dictionary at `dict_path` (skipped when missing) and finds `t2p`.
    pub fn load(dict_path: &Path) -> Pronouncer {
        let mut dict: HashMap<String, Vec<Pron>> = HashMap::new();
        let found = std::fs::read_to_string(dict_path).ok();
        if let Some(text) = &found {
            for line in text.lines() {
                let mut parts = line.split_whitespace();
                let Some(head) = parts.next() else { continue };
                let word = head.split('(').next().unwrap_or(head).to_string();
                let pron: Option<Pron> = parts.map(phone_index).collect();
                if let Some(pron) = pron.filter(|p| !p.is_empty()) {
                    dict.entry(word).or_default().push(pron);
                }
            }
        }
        Pronouncer {
            dict,
            dict_path: found.map(|_| dict_path.to_path_buf()),
            t2p: find_on_path("t2p"),
            generated: Mutex::new(HashMap::new()),
        }
    }

    pub fn default_dict() -> Pronouncer {
        Pronouncer::load(Path::new(DEFAULT_DICT))
    }

    /// The dictionary file, when one was loaded.
    pub fn dict_path(&self) -> Option<&Path> {
        self.dict_path.as_deref()
    }

    pub fn in_dict(&self, word: &str) -> bool {
        self.dict.contains_key(&word.to_lowercase())
    }

    /// Dictionary pronunciations of a lowercase word.
    pub fn lookup(&self, word: &str) -> Option<&[Pron]> {
        self.dict.get(word).map(Vec::as_slice)
    }

    /// The pronunciation of a word as a recogniser would hear it: the
    /// dictionary's first entry, else a generated one.
    pub fn first(&self, word: &str) -> Pron {
        let lower = word.to_lowercase();
        if let Some(p) = self.dict.get(&lower).and_then(|v| v.first()) {
            return p.clone();
        }
        self.generate(word).into_iter().next().unwrap_or_default()
    }

    /// Pronunciations for a channel term such as `node_exporter`, `p99`,
    /// `checkout-api`, `SLO` or `Dmitri`, most likely first.
    pub fn generate(&self, term: &str) -> Vec<Pron> {
        if let Ok(cache) = self.generated.lock()
            && let Some(hit) = cache.get(term)
        {
            return hit.clone();
        }
        let mut variants: Vec<Pron> = Vec::new();
        let spoken = spoken_form(term);
        // flite's own letter-to-sound rules: how a synthesiser (and often a
        // person reading the word cold) says it.
        if let Some(p) = self.t2p(&spoken) {
            push_unique(&mut variants, p);
        }
        for p in self.by_parts(term) {
            push_unique(&mut variants, p);
        }
        variants.truncate(MAX_VARIANTS);
        if let Ok(mut cache) = self.generated.lock() {
            cache.insert(term.to_string(), variants.clone());
        }
        variants
    }

    fn t2p(&self, text: &str) -> Option<Pron> {
        let tool = self.t2p.as_ref()?;
        let out = Command::new(tool).arg(text).output().ok()?;
        if !out.status.success() {
            return None;
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let pron: Pron = text
            .split_whitespace()
            .filter(|p| *p != "pau")
            .filter_map(phone_index)
            .collect();
        (!pron.is_empty()).then_some(pron)
    }

    /// Pronounces each part of an identifier and joins them; every part may
    /// have a few readings, so the result is a small cartesian product.
    fn by_parts(&self, term: &str) -> Vec<Pron> {
        let mut acc: Vec<Pron> = vec![Vec::new()];
        for part in split_parts(term) {
            let options = self.part(&part);
            if options.is_empty() {
                continue;
            }
            let mut next = Vec::new();
            for a in &acc {
                for o in options.iter().take(2) {
                    let mut p = a.clone();
                    p.extend_from_slice(o);
                    next.push(p);
                }
            }
            next.truncate(MAX_VARIANTS);
            acc = next;
        }
        acc.retain(|p| !p.is_empty());
        acc
    }

    fn part(&self, part: &str) -> Vec<Pron> {
        if part.chars().all(|c| c.is_ascii_digit()) {
            return vec![self.words(&number_words(part))];
        }
        let lower = part.to_lowercase();
        let mut out = Vec::new();
        let looks_like_acronym = (part.len() <= 5 && part.chars().all(|c| c.is_ascii_uppercase()))
            || !lower.chars().any(|c| "aeiouy".contains(c));
        if looks_like_acronym {
            out.push(self.spell(&lower));
        }
        if let Some(known) = self.dict.get(&lower) {
            out.extend(known.iter().cloned());
        }
        if out.is_empty()
            && let Some(split) = self.compound(&lower)
        {
            out.push(split);
        }
        if out.is_empty() {
            out.push(rule_lts(&lower));
        }
        out
    }

    fn words(&self, text: &str) -> Pron {
        text.split_whitespace()
            .flat_map(|w| self.first(w))
            .collect()
    }

    fn spell(&self, letters: &str) -> Pron {
        letters
            .chars()
            .flat_map(|c| letter_name(c).map(|n| self.words(n)).unwrap_or_default())
            .collect()
    }

    /// `pgbouncer` → `pg` + `bouncer`, `kubectl` → `kube` + `ctl`: the
    /// longest dictionary word at either end, the rest pronounced on its own.
    fn compound(&self, word: &str) -> Option<Pron> {
        let n = word.len();
        if n < 5 || !word.is_ascii() {
            return None;
        }
        for cut in (2..=n - 2).rev() {
            let (head, tail) = word.split_at(cut);
            if head.len() >= 3 && self.dict.contains_key(head) {
                let mut p = self.first(head);
                p.extend(self.tail_part(tail));
                return Some(p);
            }
            let (head2, tail2) = word.split_at(n - cut);
            if tail2.len() >= 3 && self.dict.contains_key(tail2) {
                let mut p = self.tail_part(head2);
                p.extend(self.first(tail2));
                return Some(p);
            }
        }
        None
    }

    fn tail_part(&self, piece: &str) -> Pron {
        if let Some(p) = self.dict.get(piece).and_then(|v| v.first()) {
            return p.clone();
        }
        if !piece.chars().any(|c| "aeiouy".contains(c)) || piece.len() <= 2 {
            return self.spell(piece);
        }
        rule_lts(piece)
    }
}

fn push_unique(list: &mut Vec<Pron>, p: Pron) {
    if !p.is_empty() && !list.contains(&p) {
        list.push(p);
    }
}

fn find_on_path(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

/// How a written identifier is said: `user_id` → `user underscore id`,
/// `group.md` → `group dot md`.
pub fn spoken_form(term: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = term.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        match c {
            '_' => out.push_str(" underscore "),
            '.' if i > 0 && i + 1 < chars.len() => out.push_str(" dot "),
            '-' | '/' => out.push(' '),
            '@' => out.push_str("at "),
            _ => out.push(*c),
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Splits an identifier into sayable parts: separators become their spoken
/// names, camelCase and letter/digit boundaries split.
pub fn split_parts(term: &str) -> Vec<String> {
    let mut parts = Vec::new();
    for word in spoken_form(term).split_whitespace() {
        let mut cur = String::new();
        let mut prev: Option<char> = None;
        for c in word.chars() {
            if let Some(p) = prev {
                let boundary = (p.is_ascii_digit() != c.is_ascii_digit())
                    || (p.is_lowercase() && c.is_uppercase());
                if boundary && !cur.is_empty() {
                    parts.push(std::mem::take(&mut cur));
                }
            }
            if c.is_alphanumeric() {
                cur.push(c);
            }
            prev = Some(c);
        }
        if !cur.is_empty() {
            parts.push(cur);
        }
    }
    parts
}

fn letter_name(c: char) -> Option<&'static str> {
    const NAMES: [&str; 26] = [
        "a",
        "bee",
        "see",
        "dee",
        "e",
        "ef",
        "gee",
        "aitch",
        "i",
        "jay",
        "kay",
        "el",
        "em",
        "en",
        "o",
        "pee",
        "cue",
        "are",
        "es",
        "tee",
        "you",
        "vee",
        "double you",
        "ex",
        "why",
        "zee",
    ];
    let i = (c as u32).checked_sub('a' as u32)? as usize;
    NAMES.get(i).copied()
}

/// Reads digits the way people do: `99` → `ninety nine`, `2024` → `two zero two four`.
pub fn number_words(digits: &str) -> String {
    const ONES: [&str; 20] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ];
    const TENS: [&str; 10] = [
        "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ];
    let Ok(n) = digits.parse::<usize>() else {
        return String::new();
    };
    if digits.len() > 3 || (digits.len() > 1 && digits.starts_with('0')) {
        return digits
            .chars()
            .filter_map(|c| c.to_digit(10).map(|d| ONES[d as usize]))
            .collect::<Vec<_>>()
            .join(" ");
    }
    let mut words = Vec::new();
    let mut rest = n;
    if rest >= 100 {
        words.push(ONES[rest / 100]);
        words.push("hundred");
        rest %= 100;
    }
    if rest >= 20 {
        words.push(TENS[rest / 10]);
        if rest % 10 != 0 {
            words.push(ONES[rest % 10]);
        }
    } else if rest > 0 || words.is_empty() {
        words.push(ONES[rest]);
    }
    words.join(" ")
}

/// The last resort when neither the dictionary nor `t2p` helps: a few
/// English spelling rules, good enough to give an unknown word a key.
pub fn rule_lts(word: &str) -> Pron {
    const RULES: [(&str, &str); 40] = [
        ("tch", "CH"),
        ("sch", "S K"),
        ("igh", "AY"),
        ("ch", "CH"),
        ("sh", "SH"),
        ("th", "TH"),
        ("ph", "F"),
        ("ng", "NG"),
        ("ck", "K"),
        ("qu", "K W"),
        ("wh", "W"),
        ("ee", "IY"),
        ("ea", "IY"),
        ("oo", "UW"),
        ("ou", "AW"),
        ("ow", "OW"),
        ("ai", "EY"),
        ("ay", "EY"),
        ("oi", "OY"),
        ("au", "AO"),
        ("a", "AE"),
        ("b", "B"),
        ("c", "K"),
        ("d", "D"),
        ("e", "EH"),
        ("f", "F"),
        ("g", "G"),
        ("h", "HH"),
        ("i", "IH"),
        ("j", "JH"),
        ("k", "K"),
        ("l", "L"),
        ("m", "M"),
        ("n", "N"),
        ("o", "AA"),
        ("p", "P"),
        ("r", "R"),
        ("s", "S"),
        ("t", "T"),
        ("u", "AH"),
    ];
    const MORE: [(&str, &str); 5] = [
        ("v", "V"),
        ("w", "W"),
        ("x", "K S"),
        ("y", "IY"),
        ("z", "Z"),
    ];
    let mut out = Vec::new();
    let mut rest = word;
    while !rest.is_empty() {
        // A final silent e after a consonant says nothing.
        if rest == "e" && !out.is_empty() {
            break;
        }
        let hit = RULES
            .iter()
            .chain(MORE.iter())
            .find(|(g, _)| rest.starts_with(g));
        match hit {
            Some((g, p)) => {
                out.extend(p.split(' ').filter_map(phone_index));
                rest = &rest[g.len()..];
            }
            None => {
                let skip = rest.chars().next().map_or(1, char::len_utf8);
                rest = &rest[skip..];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_split_into_sayable_parts() {
        assert_eq!(
            split_parts("node_exporter"),
            ["node", "underscore", "exporter"]
        );
        assert_eq!(split_parts("p99"), ["p", "99"]);
        assert_eq!(split_parts("group.md"), ["group", "dot", "md"]);
        assert_eq!(split_parts("checkoutApi"), ["checkout", "Api"]);
        assert_eq!(number_words("99"), "ninety nine");
        assert_eq!(number_words("120"), "one hundred twenty");
        assert_eq!(number_words("2024"), "two zero two four");
    }

    #[test]
    fn rules_give_every_word_some_key() {
        assert_eq!(render(&rule_lts("ship")), "SH IH P");
        assert!(!rule_lts("grafana").is_empty());
    }
}
