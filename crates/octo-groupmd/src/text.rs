//! Small text helpers shared by the maintainer's rules: cleaning quoted text away,
//! splitting sentences, comparing items by their content words, shortening clauses.

use std::collections::BTreeSet;

/// Lowercasing that keeps every byte offset. The rules find a phrase in the
/// lowercased text and cut the original at the same offset, so a character
/// whose lowercase is longer or shorter in UTF-8 (`İ`, `ẞ`, …) is kept as it
/// is: cutting at a shifted offset would split a character (a panic).
pub(crate) trait Lower {
    fn lower(&self) -> String;
}

impl Lower for str {
    fn lower(&self) -> String {
        self.chars()
            .map(|c| {
                let mut l = c.to_lowercase();
                match (l.next(), l.next()) {
                    (Some(x), None) if x.len_utf8() == c.len_utf8() => x,
                    _ => c,
                }
            })
            .collect()
    }
}

/// Words too common to say what an item is about.
const STOPWORDS: &[&str] = &[
    "a", "an", "the", "to", "of", "for", "and", "or", "in", "on", "at", "by", "with", "is", "are",
    "be", "been", "will", "would", "should", "we", "it", "its", "this", "that", "these", "those",
    "from", "as", "into", "about", "our", "us", "i", "you", "he", "she", "they", "them", "their",
    "his", "her", "my", "me", "do", "does", "did", "has", "have", "had", "can", "could", "shall",
    "may", "might", "must", "so", "then", "than", "there", "here", "let", "lets", "just", "also",
    "ok", "okay",
];

/// Lowercased content words, apostrophes dropped and punctuation split on.
pub(crate) fn content_words(text: &str) -> BTreeSet<String> {
    words(text)
        .into_iter()
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .collect()
}

/// Lowercased words (letters, digits, `_`), apostrophes dropped.
pub(crate) fn words(text: &str) -> Vec<String> {
    let lower = text.to_lowercase().replace(['\'', '\u{2019}'], "");
    lower
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Jaccard index of two texts' content words.
pub(crate) fn similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (singular_words(a), singular_words(b));
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let shared = a.intersection(&b).count();
    shared as f64 / (a.len() + b.len() - shared) as f64
}

/// Content words two texts share (ignoring very short ones).
pub(crate) fn shared_words(a: &str, b: &str) -> usize {
    let (a, b) = (singular_words(a), singular_words(b));
    a.intersection(&b).filter(|w| w.len() > 2).count()
}

/// Content words with a plural "-s" dropped: "invitation" and "invitations",
/// "weekend" and "weekends" are the same thing.
fn singular_words(text: &str) -> BTreeSet<String> {
    content_words(text)
        .into_iter()
        .map(|w| match w.strip_suffix('s') {
            Some(stem) if stem.len() > 3 && !stem.ends_with('s') => stem.to_owned(),
            _ => w,
        })
        .collect()
}

/// Writes contractions typed without an apostrophe ("ill do it", "dont",
/// "wont") and curly apostrophes the way the rules read them, so unpunctuated
/// chat matches the same cues. "ill" only opens a clause ("I'm ill" stays).
pub(crate) fn normalise_contractions(text: &str) -> String {
    const ANYWHERE: &[(&str, &str)] = &[
        ("dont", "don't"),
        ("wont", "won't"),
        ("cant", "can't"),
        ("didnt", "didn't"),
        ("doesnt", "doesn't"),
        ("isnt", "isn't"),
        ("arent", "aren't"),
        ("wasnt", "wasn't"),
        ("shouldnt", "shouldn't"),
        ("couldnt", "couldn't"),
        ("wouldnt", "wouldn't"),
        ("ive", "I've"),
        ("im", "I'm"),
        ("youre", "you're"),
        ("thats", "that's"),
        ("theyre", "they're"),
    ];
    const OPENERS: &[&str] = &[
        "and", "so", "but", "ok", "okay", "then", "me", "sure", "yes",
    ];
    let text = text.replace('\u{2019}', "'");
    let mut out = String::with_capacity(text.len() + 8);
    let mut clause_start = true;
    let mut prev = String::new();
    for (i, piece) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let core = piece.trim_end_matches(|c: char| ",.;:!?".contains(c));
        let lower = core.lower();
        let opens = clause_start || OPENERS.contains(&prev.as_str());
        let fixed = ANYWHERE
            .iter()
            .find(|(from, _)| *from == lower)
            .map(|(_, to)| *to)
            .or_else(|| (opens && lower == "ill").then_some("I'll"));
        match fixed {
            Some(to) if !core.contains('\n') => {
                out.push_str(to);
                out.push_str(&piece[core.len()..]);
            }
            _ => out.push_str(piece),
        }
        if piece.is_empty() {
            continue;
        }
        clause_start = piece.ends_with(|c: char| ",.;:!?".contains(c)) || piece.contains('\n');
        prev = lower;
    }
    out
}

/// Removes what the author is quoting rather than saying: `>` lines, code blocks,
/// and double-quoted passages of three words or more.
pub(crate) fn without_quotes(text: &str) -> String {
    let mut kept = Vec::new();
    let mut in_code = false;
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code || t.starts_with('>') {
            continue;
        }
        kept.push(drop_quoted_spans(line));
    }
    kept.join("\n")
}

fn drop_quoted_spans(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    loop {
        let Some((start, open)) = rest
            .char_indices()
            .find(|&(_, c)| c == '"' || c == '\u{201c}')
        else {
            out.push_str(rest);
            return out;
        };
        let close = if open == '"' { '"' } else { '\u{201d}' };
        let after = &rest[start + open.len_utf8()..];
        let Some(end) = after.find(close) else {
            // An unclosed quote runs to the end of the line.
            out.push_str(&rest[..start]);
            if after.split_whitespace().count() < 3 {
                out.push_str(after);
            }
            return out;
        };
        let quoted = &after[..end];
        out.push_str(&rest[..start]);
        if quoted.split_whitespace().count() < 3 {
            out.push_str(quoted);
        }
        rest = &after[end + close.len_utf8()..];
    }
}

/// A sentence and whether it asks something.
#[derive(Debug, Clone)]
pub(crate) struct Sentence {
    pub text: String,
    pub question: bool,
}

/// Splits on line breaks and on `.`, `?`, `!` or `;` followed by a space.
/// Dots inside words (`v1.2`, `e.g.`) stay.
pub(crate) fn sentences(text: &str) -> Vec<Sentence> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut current = String::new();
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            current.push(c);
            let ends = matches!(c, '.' | '?' | '!' | ';')
                && chars.peek().is_none_or(|n| n.is_whitespace())
                && !(c == '.' && chars.peek().is_some() && abbreviation(&current));
            if ends {
                push_sentence(&mut out, &current);
                current.clear();
            }
        }
        push_sentence(&mut out, &current);
    }
    out
}

/// "check with Dr. Keller", "tools, e.g. weblate": the dot after a title or
/// a Latin abbreviation ends no sentence.
fn abbreviation(current: &str) -> bool {
    const ABBREVIATIONS: &[&str] = &[
        "dr.", "mr.", "mrs.", "ms.", "prof.", "st.", "e.g.", "i.e.", "vs.", "approx.", "cf.",
    ];
    let last = current.rsplit(char::is_whitespace).next().unwrap_or("");
    let last = last.trim_start_matches(['(', '"', '\'']).to_lowercase();
    ABBREVIATIONS.contains(&last.as_str())
}

fn push_sentence(out: &mut Vec<Sentence>, raw: &str) {
    let t = raw.trim();
    if t.is_empty() {
        return;
    }
    // Unpunctuated chat asks without "?": an inverted opening still asks.
    let unpunctuated = !t.ends_with(['.', '!', ';', '?']);
    out.push(Sentence {
        question: t.ends_with('?') || unpunctuated && asks_without_mark(t),
        text: t.trim_end_matches(['.', '!', ';', '?']).trim().to_owned(),
    });
}

/// "do we still need it", "who's writing the guide": a question by its word
/// order (auxiliary or question word first), for chat typed without "?".
fn asks_without_mark(sentence: &str) -> bool {
    const AUXILIARIES: &[&str] = &[
        "do", "does", "did", "are", "is", "can", "could", "should", "shall", "will", "would",
        "have", "has",
    ];
    const SUBJECTS: &[&str] = &[
        "we", "i", "you", "it", "they", "there", "anyone", "someone", "somebody", "this", "that",
    ];
    const WH: &[&str] = &[
        "what", "why", "how", "when", "where", "which", "who", "whos", "who's",
    ];
    const WH_NEXT: &[&str] = &[
        "do", "does", "did", "are", "is", "was", "were", "can", "could", "should", "will", "would",
        "about", "if", "many", "much", "long", "else", "time", "one", "happens",
    ];
    let lower = trim_filler(sentence).lower();
    let mut ws = lower.split_whitespace();
    let (Some(first), Some(second)) = (ws.next(), ws.next()) else {
        return false;
    };
    let second = second.trim_end_matches(',');
    // "do it", "have it ready": imperatives, not questions.
    let pointer = ["it", "this", "that"].contains(&second);
    let imperative = pointer && ["do", "did", "have", "has"].contains(&first);
    (AUXILIARIES.contains(&first) && SUBJECTS.contains(&second) && !imperative)
        || (WH.contains(&first) && (WH_NEXT.contains(&second) || first.starts_with("who")))
}

/// Lowercase `text` starts with `prefix` at a word boundary; returns the rest.
pub(crate) fn strip_word_prefix<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = &text[prefix.len()..];
    if rest.is_empty() || !rest.starts_with(|c: char| c.is_alphanumeric() || c == '_') {
        Some(rest.trim_start_matches([' ', ',', ':', '-']).trim_start())
    } else {
        None
    }
}

/// Drops leading filler ("ok", "so", "alright", "honestly" …) that says nothing.
pub(crate) fn trim_filler(mut text: &str) -> &str {
    const FILLER: &[&str] = &[
        "ok",
        "okay",
        "ok so",
        "so",
        "alright",
        "all right",
        "right",
        "fine",
        "cool",
        "great",
        "then",
        "honestly",
        "well",
        "yeah",
        "yes",
        "yep",
        "sure",
        "and",
        "also",
        "btw",
        "anyway",
        "anyways",
        "fyi",
        "final answer",
        "to be clear",
        "good",
        "perfect",
        "nice",
        "thanks",
        "thx",
        "ack",
        "noted",
        "sounds good",
        "sounds great",
        "agree",
        "agreed",
        "ugh",
        "oh",
        "oh right",
        "hmm",
    ];
    loop {
        let t = text.trim_start_matches(|c: char| c.is_whitespace() || ",.:;-!".contains(c));
        let next = FILLER
            .iter()
            .filter_map(|f| strip_word_prefix(t, f))
            .min_by_key(|r| r.len());
        match next {
            Some(rest) if rest.len() < t.len() => text = rest,
            _ => return t,
        }
    }
}

/// Cuts a clause before the first aside (", and we …", " because …", " if …") and
/// caps it at `max_words` words, so items stay short paraphrases.
pub(crate) fn shorten(text: &str, max_words: usize) -> String {
    const CUTS: &[&str] = &[
        ", and we ",
        ", and it",
        ", and i ",
        ", we ",
        ", it ",
        ", its ",
        ", it's ",
        ", i ",
        ", that",
        ", this ",
        ", so ",
        ", but ",
        " but ",
        " because ",
        " since ",
        " as long as ",
        " if we ",
        " if you ",
        " if it ",
        " unless ",
        " in case ",
        " which ",
        ", should ",
        ", they",
        " - ",
        " \u{2014} ",
        " (",
        ", which",
        ", probably",
        ", hopefully",
        ", maybe",
        ", assuming",
        ", otherwise",
        ", though",
    ];
    let lower = text.lower();
    let mut end = text.len();
    for cut in CUTS {
        if let Some(i) = lower.find(cut)
            && i > 0
            && i < end
            // Keep at least three words before an aside.
            && text[..i].split_whitespace().count() >= 3
        {
            end = i;
        }
    }
    let clipped: Vec<&str> = text[..end].split_whitespace().take(max_words).collect();
    let joined = clipped.join(" ");
    joined
        .trim_end_matches([',', '.', ':', ';', '-', ' '])
        .to_owned()
}

/// Removes `(…)` asides.
pub(crate) fn without_parentheses(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(" ,", ",")
}

/// Upper-cases the first letter.
pub(crate) fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Whether any of `cues` occurs in `lower` as whole words.
pub(crate) fn has_phrase(lower: &str, cues: &[&str]) -> bool {
    cues.iter().any(|cue| find_phrase(lower, cue).is_some())
}

/// Byte offset of `cue` in `lower` at word boundaries.
pub(crate) fn find_phrase(lower: &str, cue: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = lower[from..].find(cue) {
        let start = from + i;
        let end = start + cue.len();
        let before_ok = lower[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        let after_ok = lower[end..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric());
        if before_ok && after_ok {
            return Some(start);
        }
        from = start + cue.len().max(1);
        while !lower.is_char_boundary(from) {
            from += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_passages_and_quote_lines_are_dropped() {
        let t =
            without_quotes("the old doc said \"Decision: use MySQL forever\" lol\n> Decision: x");
        assert_eq!(t, "the old doc said  lol");
    }

    #[test]
    fn sentences_split_on_terminators_but_not_inside_words() {
        let s = sentences("ship v1.2 today. ok? sure");
        let texts: Vec<_> = s.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["ship v1.2 today", "ok", "sure"]);
        assert!(s[1].question);
        // Unpunctuated chat asks by word order.
        let s = sentences("do we still need the old protocol\nwe still need it");
        assert!(s[0].question && !s[1].question);
        assert!(!sentences("what we need is a plan")[0].question);
        assert!(!sentences("do it")[0].question && !sentences("have it ready by noon")[0].question);
        assert!(sentences("is it ready")[0].question);
    }

    #[test]
    fn contractions_without_apostrophes_read_as_contractions() {
        assert_eq!(
            normalise_contractions("me, ill write it. dont worry, im on it"),
            "me, I'll write it. don't worry, I'm on it"
        );
        assert_eq!(normalise_contractions("I\u{2019}ll go"), "I'll go");
        // "ill" only where a clause opens.
        assert_eq!(
            normalise_contractions("she is ill today"),
            "she is ill today"
        );
    }

    #[test]
    fn plurals_name_the_same_thing() {
        assert_eq!(
            shared_words("design the invitations", "invitation draft is up"),
            1
        );
        assert!(similarity("no crunch weekends", "no weekend work") >= 0.4);
        // "status" is not a plural.
        assert_eq!(shared_words("status page", "stat page"), 1);
    }

    #[test]
    fn filler_and_asides_are_cut() {
        assert_eq!(trim_filler("ok so, let's go"), "let's go");
        assert_eq!(
            shorten(
                "repoint the etl job at the new cluster, it's a one-line change",
                15
            ),
            "repoint the etl job at the new cluster"
        );
    }
}
