//! Full-text search over message text with PostgreSQL's text search.
//!
//! Every message row carries `search_words`, a stored `to_tsvector('simple',
//! text)` under a GIN index. The query is built from parsed terms only, each
//! one a bound parameter turned into a `tsquery` by a function that treats it
//! as plain words (`plainto_tsquery`, `phraseto_tsquery`), so no user text is
//! ever query syntax. Hits are ordered by `ts_rank` (ties to the newest);
//! snippets come from `ts_headline`, computed for the returned page only.

use crate::db::{self, Db};
use crate::error::Res;
use crate::messages;
use crate::rows::{self, MESSAGE_COLS, ms, prefixed};
use octo_core::search::SearchTerm;
use octo_store::{SearchHit, SearchRequest};
use tokio_postgres::types::ToSql;

/// Marks `ts_headline` puts around matches in a snippet; stripped before
/// returning.
const OPEN: char = '\u{2}';
const CLOSE: char = '\u{3}';
/// Most words in a snippet.
const SNIPPET_WORDS: u32 = 24;

/// A prefix as one quoted `tsquery` operand with the prefix flag.
fn prefix_operand(p: &str) -> String {
    format!("'{}':*", p.replace('\\', "\\\\").replace('\'', "''"))
}

/// The SQL for one term's `tsquery`, reading its text from parameter `$n`, and
/// that text.
fn term_query(term: &SearchTerm, n: usize) -> (String, String) {
    match term {
        SearchTerm::Word(w) => (format!("plainto_tsquery('simple', ${n})"), w.clone()),
        SearchTerm::Phrase(words) => (format!("phraseto_tsquery('simple', ${n})"), words.join(" ")),
        SearchTerm::Prefix(p) => (format!("to_tsquery('simple', ${n})"), prefix_operand(p)),
    }
}

pub(crate) async fn search(c: &impl Db, r: SearchRequest) -> Res<Vec<SearchHit>> {
    if r.channels.is_empty() || r.terms.is_empty() || r.limit == 0 {
        return Ok(Vec::new());
    }
    let channels: Vec<&str> = r.channels.iter().map(|c| c.as_str()).collect();
    let author = r.author.as_ref().map(|a| a.as_str());
    let thread = r.thread.as_ref().map(|t| t.as_str());
    let before = r.before.map(ms);
    let after = r.after.map(ms);
    let limit = i64::from(r.limit);
    let offset = i64::from(r.offset);
    let options = format!(
        "StartSel={OPEN}, StopSel={CLOSE}, MaxWords={SNIPPET_WORDS}, MinWords={}, ShortWord=0",
        SNIPPET_WORDS / 2
    );
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![
        &channels,
        &author,
        &thread,
        &r.has_attachment,
        &before,
        &after,
        &limit,
        &offset,
        &options,
    ];
    let fixed = params.len();
    let terms: Vec<(String, String)> = r
        .terms
        .iter()
        .enumerate()
        .map(|(i, t)| term_query(t, fixed + 1 + i))
        .collect();
    for (_, text) in &terms {
        params.push(text);
    }
    let query = terms
        .iter()
        .map(|(sql, _)| sql.as_str())
        .collect::<Vec<_>>()
        .join(" && ");
    let cols = prefixed("m", MESSAGE_COLS);
    let sql = format!(
        "WITH q AS (SELECT {query} AS q) \
         SELECT {cols}, ts_rank(m.search_words, q.q) AS rank, \
                ts_headline('simple', m.text, q.q, $9) AS snippet \
         FROM messages m, q \
         WHERE m.search_words @@ q.q AND NOT m.deleted AND m.channel_id = ANY($1) \
           AND ($2::text IS NULL OR m.author_id = $2) \
           AND ($3::text IS NULL OR m.id = $3 OR m.thread_id = $3) \
           AND ($4::bool IS NULL OR $4 = EXISTS (SELECT 1 FROM files f WHERE f.message_id = m.id)) \
           AND ($5::bigint IS NULL OR m.created_at < $5) \
           AND ($6::bigint IS NULL OR m.created_at > $6) \
         ORDER BY rank DESC, m.seq DESC, m.id DESC LIMIT $7 OFFSET $8"
    );
    let found = db::query(c, &sql, &params).await?;
    let mut hits = Vec::with_capacity(found.len());
    for row in found {
        let message = rows::message(&row)?;
        let rank: f32 = row.try_get(16)?;
        let marked: String = row.try_get(17)?;
        let message = messages::with_details(c, message).await?;
        // Marks typed into the message itself can't be told from the
        // highlighter's own: such a snippet comes without highlights.
        let trusted = !message.text.contains([OPEN, CLOSE]);
        let (snippet, mut highlights) = unmark(&marked);
        if !trusted {
            highlights.clear();
        }
        hits.push(SearchHit {
            message,
            snippet,
            highlights,
            score: f64::from(rank),
        });
    }
    Ok(hits)
}

/// Strips the marks, recording the `[start, end)` character offsets they
/// enclosed.
fn unmark(marked: &str) -> (String, Vec<(u32, u32)>) {
    let mut text = String::with_capacity(marked.len());
    let mut spans = Vec::new();
    let mut chars: u32 = 0;
    let mut open = None;
    for c in marked.chars() {
        match c {
            OPEN => open = Some(chars),
            CLOSE => {
                if let Some(start) = open.take() {
                    spans.push((start, chars));
                }
            }
            c => {
                text.push(c);
                chars = chars.saturating_add(1);
            }
        }
    }
    (text, spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_quoted_operands() {
        assert_eq!(prefix_operand("stag"), "'stag':*");
        assert_eq!(prefix_operand("it's"), "'it''s':*");
        assert_eq!(prefix_operand(r"a\b"), r"'a\\b':*");
    }

    #[test]
    fn marks_become_character_offsets() {
        let marked = "…café \u{2}déploy\u{3} and \u{2}release train\u{3}";
        let (text, spans) = unmark(marked);
        assert_eq!(text, "…café déploy and release train");
        assert_eq!(spans, vec![(6, 12), (17, 30)]);
    }
}
