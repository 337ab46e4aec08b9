//! Verb forms the rules need: the base form of an "-ing" word ("rotating" →
//! "rotate"), so work reported in progress reads like work assigned.

/// "-ing" words that are not work in progress.
const NOT_WORK_ING: &[&str] = &[
    "thinking",
    "going",
    "looking",
    "wondering",
    "trying",
    "getting",
    "being",
    "having",
    "seeing",
    "waiting",
    "hoping",
    "guessing",
    "feeling",
    "kidding",
    "joking",
    "saying",
    "asking",
    "leaning",
    "assuming",
    "starting",
    "morning",
    "evening",
    "nothing",
    "something",
    "anything",
    "everything",
    "thing",
    "king",
    "ring",
    "spring",
    "string",
    "bring",
    "sing",
    "during",
    "pending",
    "coming",
    "heading",
    "planning",
    "considering",
    "reading",
    "watching",
    "following",
    "checking",
    "investigating",
    "digging",
    "meeting",
    "talking",
    "chatting",
    "missing",
    "using",
    "running",
    "seeming",
    "blocking",
    "failing",
    "breaking",
    "working",
];

/// Stem endings that drop a silent "e" before "-ing" (rotat-ing, clos-ing).
const E_ENDINGS: &[&str] = &[
    "at", "iz", "ak", "iv", "uc", "ic", "ur", "ul", "ir", "os", "us", "ov", "ag", "rit", "vit",
    "id", "ud", "ut", "ar", "as", "ab", "ib",
];

/// The base form of `word` if it is an "-ing" form, else `None`.
pub(super) fn base_form(word: &str) -> Option<String> {
    let stem = word.strip_suffix("ing")?;
    if stem.len() < 2 || !stem.chars().any(|c| "aeiouy".contains(c)) {
        return None;
    }
    let b = stem.as_bytes();
    let n = b.len();
    // "running" → "run", but "rolling", "adding", "passing" keep both letters.
    if n > 3 && b[n - 1] == b[n - 2] && !b"lsfzd".contains(&b[n - 1]) {
        return Some(stem[..n - 1].to_owned());
    }
    if E_ENDINGS.iter().any(|e| stem.ends_with(e))
        && !stem.ends_with("ead")
        && !stem.ends_with("oad")
        && n > 2
        && !"aeiou".contains(b[n - 3] as char)
    {
        return Some(format!("{stem}e"));
    }
    Some(stem.to_owned())
}

/// "keep" → "keeps", "push" → "pushes", "have" → "has": the asker's plan
/// told of them, not asked by them.
pub(super) fn third_person(verb: &str) -> String {
    match verb {
        "have" => "has".to_owned(),
        "be" => "is".to_owned(),
        "do" | "go" => format!("{verb}es"),
        v if ["s", "sh", "ch", "x", "z"].iter().any(|e| v.ends_with(e)) => format!("{v}es"),
        v if v.len() > 2
            && v.ends_with('y')
            && !v[..v.len() - 1].ends_with(['a', 'e', 'i', 'o', 'u']) =>
        {
            format!("{}ies", &v[..v.len() - 1])
        }
        v => format!("{v}s"),
    }
}

/// "I'm rotating the key", "rotating the key now": work the author reports
/// starting, rewritten as a task ("rotate the key"). `lower` is one sentence.
pub(super) fn in_progress(lower: &str) -> Option<String> {
    let (rest, explicit) = ["i'm ", "i am ", "im "]
        .iter()
        .find_map(|p| lower.strip_prefix(p))
        .map_or((lower, false), |r| (r, true));
    let first = rest.split_whitespace().next()?;
    if NOT_WORK_ING.contains(&first) {
        return None;
    }
    let base = base_form(first)?;
    let task = rest[first.len()..].trim();
    // Without "I'm", only "… now" says the author is doing it.
    let now = super::super::text::has_phrase(lower, &["now", "right now"]);
    if task.split_whitespace().count() < 1 || !(explicit || now) {
        return None;
    }
    Some(format!("{base} {task}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_forms() {
        for (ing, base) in [
            ("rotating", "rotate"),
            ("posting", "post"),
            ("rolling", "roll"),
            ("adding", "add"),
            ("dropping", "drop"),
            ("updating", "update"),
            ("writing", "write"),
            ("closing", "close"),
            ("fixing", "fix"),
            ("opening", "open"),
            ("sending", "send"),
        ] {
            assert_eq!(base_form(ing).as_deref(), Some(base), "{ing}");
        }
        assert_eq!(
            in_progress("rotating the staging key now").as_deref(),
            Some("rotate the staging key now")
        );
        assert_eq!(in_progress("thinking about it now"), None);
        assert_eq!(in_progress("posting the notes later"), None);
    }
}
