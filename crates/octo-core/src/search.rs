//! Search queries as people type them: words, `"quoted phrases"` and
//! `prefix*`, every term required. Parsed into terms here so that no backend
//! ever passes user text into its own query language.

use serde::{Deserialize, Serialize};

/// Most terms in one query, and the longest word.
pub const MAX_TERMS: usize = 16;
pub const MAX_WORD_CHARS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SearchTerm {
    /// A whole word (matched after each backend's own stemming/folding).
    Word(String),
    /// Words starting with this.
    Prefix(String),
    /// These words, adjacent and in order.
    Phrase(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("the query has no words to search for")]
    Empty,
    #[error("the query has more than {MAX_TERMS} terms")]
    TooManyTerms,
}

/// Splits text into lower-cased words of letters and digits; everything else
/// separates words (and so can't be query syntax).
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            w.chars()
                .take(MAX_WORD_CHARS)
                .collect::<String>()
                .to_lowercase()
        })
        .collect()
}

pub fn parse_query(raw: &str) -> Result<Vec<SearchTerm>, QueryError> {
    let mut terms = Vec::new();
    let mut rest = raw;
    while let Some(start) = rest.find('"') {
        push_loose(&rest[..start], &mut terms);
        let after = &rest[start + 1..];
        let (inside, tail) = match after.find('"') {
            Some(end) => (&after[..end], &after[end + 1..]),
            None => (after, ""),
        };
        let phrase = words(inside);
        match phrase.len() {
            0 => {}
            1 => terms.extend(phrase.into_iter().map(SearchTerm::Word)),
            _ => terms.push(SearchTerm::Phrase(phrase)),
        }
        rest = tail;
    }
    push_loose(rest, &mut terms);
    if terms.is_empty() {
        return Err(QueryError::Empty);
    }
    if terms.len() > MAX_TERMS {
        return Err(QueryError::TooManyTerms);
    }
    Ok(terms)
}

/// Unquoted text: words, and a `*` right after a word makes it a prefix.
fn push_loose(text: &str, terms: &mut Vec<SearchTerm>) {
    for token in text.split_whitespace() {
        let prefix = token.ends_with('*');
        let mut ws = words(token);
        let last = ws.pop();
        terms.extend(ws.into_iter().map(SearchTerm::Word));
        if let Some(last) = last {
            terms.push(if prefix {
                SearchTerm::Prefix(last)
            } else {
                SearchTerm::Word(last)
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SearchTerm::*;

    #[test]
    fn words_phrases_and_prefixes() {
        assert_eq!(
            parse_query(r#"Deploy "release train" stag*"#),
            Ok(vec![
                Word("deploy".into()),
                Phrase(vec!["release".into(), "train".into()]),
                Prefix("stag".into())
            ])
        );
    }

    #[test]
    fn syntax_of_any_backend_is_just_separators() {
        assert_eq!(
            parse_query("a OR b) NEAR(c: -d ^e"),
            Ok(["a", "or", "b", "near", "c", "d", "e"]
                .map(|w| Word(w.into()))
                .to_vec())
        );
        assert_eq!(
            parse_query(r#""unclosed phrase here"#),
            Ok(vec![Phrase(vec![
                "unclosed".into(),
                "phrase".into(),
                "here".into()
            ])])
        );
        assert_eq!(parse_query(r#"" " *** ()"#), Err(QueryError::Empty));
        assert_eq!(parse_query(&"w ".repeat(17)), Err(QueryError::TooManyTerms));
    }
}
